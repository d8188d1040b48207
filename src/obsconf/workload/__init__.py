"""The workload stage: what a contract sends (plan, pure), how (run: loopback HTTP with a fresh W3C traceparent),
and the trace context it carries (pure)."""
