"""The ``load`` section of a contract: the Locust load and its cross-signal accounting and SLOs."""

from __future__ import annotations

from typing import Any

from obsconf.contract import model
from obsconf.contract.document import Doc, PathT, compile_regex
from obsconf.contract.parts import names, spec_from


def _accounting(doc: Doc, raw: dict[str, Any], has_spans: bool, metrics_path: str) -> model.AccountingSpec:
    base: PathT = ("load", "accounting")
    counter = spec_from(model.CounterSpec, raw["counter"], loc=doc.loc(base + ("counter",)))
    histogram = None
    if "histogram" in raw:
        hist = raw["histogram"]
        if hist["name"].endswith(("_count", "_bucket", "_sum")):
            raise doc.error(base + ("histogram", "name"), f"give the histogram's family name without the "
                            f"suffix (e.g. {hist['name'].rsplit('_', 1)[0]!r}): obsconf reads its _count and _bucket")
        histogram = model.HistogramCountSpec(name=hist["name"], route_label=hist.get("route_label", counter.route_label),
                                             method_label=hist.get("method_label", counter.method_label),
                                             status_label=hist.get("status_label"), loc=doc.loc(base + ("histogram",)))
    spans = None
    if "spans" in raw and not has_spans:
        raise doc.error(base + ("spans",), "spans are accounted only for a contract with a 'spans' section; add "
                        "one (the service's spans are checked there) or remove this key")
    if has_spans:
        spans_raw = raw.get("spans", {})
        default = model.SpanAccountingSpec()
        spans = model.SpanAccountingSpec(
            route_attribute=names(spans_raw.get("route_attribute"), default.route_attribute),
            status_attribute=names(spans_raw.get("status_attribute"), default.status_attribute),
            method_attribute=names(spans_raw.get("method_attribute"), default.method_attribute),
            loc=doc.loc(base + ("spans",)) if "spans" in raw else doc.loc(base))
    access = None
    if "access_log" in raw:
        access_raw = raw["access_log"]
        path = base + ("access_log",)
        pattern = compile_regex(doc, path + ("match", "pattern"), access_raw["match"].get("pattern", ".*"))
        match = model.FieldMatch(field=access_raw["match"]["field"], pattern=pattern)
        access = spec_from(model.AccessLogSpec, access_raw, match=match, loc=doc.loc(path))
    return model.AccountingSpec(counter=counter, histogram=histogram, spans=spans, access_log=access,
                                routes=tuple(raw.get("routes", [])), exclude=tuple(raw.get("exclude", [metrics_path])),
                                loc=doc.loc(base))


def load_section(doc: Doc, raw: dict[str, Any], has_spans: bool, metrics_path: str, has_logs: bool) -> model.LoadSpec:
    base: PathT = ("load",)
    locustfile = (doc.file.parent / raw["locustfile"]).resolve()
    if not locustfile.is_file():
        raise doc.error(base + ("locustfile",), f"locustfile {locustfile} does not exist (paths are relative to "
                        "the contract)")
    accounting = _accounting(doc, raw["accounting"], has_spans, metrics_path)
    if accounting.access_log is not None and not has_logs:
        raise doc.error(base + ("accounting", "access_log"), "access-log lines are read from the contract's log "
                        "source: add a 'logs' section (format, stream or source) or remove this key")
    slos = None
    if "slos" in raw:
        slos_raw = raw["slos"]
        path = base + ("slos",)
        if not any(k in slos_raw for k in ("availability", "error_rate", "p95_ms")):
            raise doc.error(path, "name at least one objective: availability, error_rate or p95_ms")
        if "p95_ms" in slos_raw and accounting.histogram is None:
            raise doc.error(path + ("p95_ms",), "the telemetry's p95 comes from a request-duration histogram: "
                            "name it under load.accounting.histogram")
        slos = spec_from(model.LoadSloSpec, slos_raw, loc=doc.loc(path))
    seconds = {key: float(raw[key]) for key in ("spawn_rate", "seconds") if key in raw}
    return spec_from(model.LoadSpec, raw, locustfile=locustfile, accounting=accounting, slos=slos, loc=doc.loc(base),
                     **seconds)
