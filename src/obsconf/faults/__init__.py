"""Fault injection: pure delivery accounting, the Toxiproxy toxics behind each fault mode, and the fault
scenarios a contract declares."""

from obsconf.faults.accounting import Delivery, Latency, account, percentile

__all__ = ["Delivery", "Latency", "account", "percentile"]
