"""Pure check that a service really calls its declared dependencies through their proxies.

A dependency the service reaches some other way (a variable it ignores, a hard-coded address) cannot be
faulted: retries and fault scenarios would pass without ever being exercised. The proxies' connection
counts come from the kernel's socket table (:func:`obsconf.target.proxies.connections_seen`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from obsconf.contract.model import DependencySpec
from obsconf.model import Finding


def check_dependency_traffic(deps: Sequence[DependencySpec], traffic: Mapping[str, int], *, started: bool,
                             where: str = "service.dependencies") -> list[Finding]:
    """Each declared dependency saw at least one connection through its proxy during the workload.

    ``started`` is False when obsconf did not start the service, so it could not point it at proxies."""
    if not deps:
        return [Finding("dependencies", where, "the contract declares no dependency, so no proxy traffic was "
                        "checked", expected="service.dependencies", actual="none")]
    if not started:
        return [Finding("dependencies", where, "obsconf did not start this service, so its dependencies "
                        f"({', '.join(d.name for d in deps)}) are not behind Toxiproxy proxies; let obsconf start it "
                        "(service.command or --obsconf-target-cmd) to check them and inject faults",
                        expected="a service started by obsconf", actual="--obsconf-target URL")]
    out = []
    for dep in deps:
        seen = traffic.get(dep.name, 0)
        if seen <= 0:
            out.append(Finding(
                "dependencies", dep.loc or where,
                f"no connection went through the proxy of dependency {dep.name!r} while the workload ran: does the "
                f"service read {dep.env} (obsconf set it to the proxy), and does the workload make it call "
                f"{dep.name}?", expected=f"connections through the {dep.name} proxy", actual="0"))
    return out


def check_fault_reached(dep: DependencySpec, connections: int, *, where: str) -> list[Finding]:
    """A fault only means something if the service talked to the faulted proxy (``connections`` < 0: unknown)."""
    if connections != 0:
        return []
    return [Finding("dependencies", where, f"the service never connected through the proxy of {dep.name!r}, so "
                    f"the fault never reached it: does it read {dep.env}?",
                    expected=f"connections through the {dep.name} proxy", actual="0")]
