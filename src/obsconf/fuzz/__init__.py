"""Hostile input against a service: secret canaries in every input, read back from every sink.

- :mod:`~obsconf.fuzz.canary` (pure): canary tokens and the scan that finds them, whole or in fragments.
- :mod:`~obsconf.fuzz.inputs`: hypothesis strategies for hostile requests built from a service's OpenAPI
  document (canaries in headers, query, path, JSON bodies at any depth, keys in every casing, URL passwords,
  name/value pairs), plus malformed and oversized input.
- :mod:`~obsconf.fuzz.lines` (pure): one well-formed JSON line per event, values bounded (log injection).
- :mod:`~obsconf.fuzz.report` (pure): ``reports/security.json``.
- :mod:`~obsconf.fuzz.sinks` and :mod:`~obsconf.fuzz.run`: the run against the reference service on the
  real stack (``obsconf security``): log store, PocketBase, Jaeger, Prometheus, /metrics, stdout and rotated
  files are all read back.
"""
