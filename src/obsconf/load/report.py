"""``reports/load.{json,md}``: per contract Locust's statistics, the accounting table (the four numbers per
route and status class) and the SLOs measured twice; Locust's own HTML report beside them
(``load-<contract>.html``). Written at the end of a session that ran a load."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from obsconf.checks.accounting import NO_ANSWER, AccountingRow


def write_locust_html(result: Any, report_dir: Path) -> Path:
    """Save Locust's HTML report of one contract's load as ``<report dir>/load-<contract id>.html``."""
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / f"load-{result.contract.id}.html"
    path.write_text(result.run.html, encoding="utf-8")
    return path


def _row_ok(row: AccountingRow, rate: float) -> bool:
    if row.key.status == NO_ANSWER:
        return True
    exact = row.counter == row.sent and (row.logs is None or row.logs == row.sent)
    return exact and (row.spans is None or row.spans == row.sent or rate < 1.0)


def as_json(result: Any) -> dict[str, Any]:
    """One contract's load as plain data."""
    run = result.run
    plan = run.plan
    rows = [r.as_dict() | {"agree": _row_ok(r, result.sample_rate)} for r in result.rows]
    histogram = None
    if result.histogram is not None:
        counter, counts = result.histogram
        histogram = [{"method": k.method, "route": k.route, "status": k.status, "counter": counter[k],
                      "histogram_count": counts[k]} for k in sorted(set(counter) | set(counts))]
    return {
        "contract": result.contract.name,
        "plan": {"locustfile": str(plan.locustfile), "user_class": plan.user_class, "host": plan.host,
                 "users": plan.users, "spawn_rate": plan.spawn_rate, "seconds": plan.seconds,
                 "workers": plan.worker_count, "traceparent": plan.propagate},
        "window": {"started_ns": run.started_ns, "ended_ns": run.ended_ns,
                   "seconds": round((run.ended_ns - run.started_ns) / 1e9, 2)},
        "requests": {"locust": len(run.records), "workload": len(run.scripted), "accounted": result.sent},
        "locust": run.stats,
        "accounting": {"sample_rate": result.sample_rate, "exact": all(r["agree"] for r in rows), "rows": rows},
        "histogram_count": histogram,
        "slos": [m.as_dict() for m in result.slos],
        "html": result.html_path,
        "queries": result.queries,
        "timings_s": {k: round(v, 2) for k, v in result.timings.items()},
    }


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def _num(value: Any, ms: bool = False) -> str:
    if value is None:
        return "no data"
    return f"{value:.1f} ms" if ms else f"{value:.4f}"


def render_markdown(results: Sequence[dict[str, Any]], command: str) -> str:
    """The Markdown report of every contract's load."""
    out = ["# Conformance under load", "", f"Command: `{command}`", ""]
    for r in results:
        plan, total = r["plan"], r["locust"]["total"]
        out += [f"## {r['contract']}", "",
                f"{plan['user_class']} from `{plan['locustfile']}`: {plan['users']} users at {plan['spawn_rate']:g}/s "
                f"for {plan['seconds']:g} s, {plan['workers'] or 'no'} workers, against {plan['host']}; "
                f"window {r['window']['seconds']} s; {r['requests']['locust']} Locust requests and "
                f"{r['requests']['workload']} workload requests ({r['requests']['accounted']} accounted). "
                f"Locust's HTML report: `{r['html']}`", "",
                "### Locust", "", "| method | name | requests | failures | median ms | p95 ms | req/s |",
                "|---|---|---:|---:|---:|---:|---:|"]
        for e in [*r["locust"]["entries"], total]:
            out.append(f"| {e['method'] or ''} | {e['name']} | {e['num_requests']} | {e['num_failures']} | "
                       f"{e['median_response_time']} | {e['p95_ms']} | {e['total_rps']:.1f} |")
        acc = r["accounting"]
        out += ["", f"### Accounting ({'exact' if acc['exact'] else 'MISMATCH'}, sample rate {acc['sample_rate']:g})",
                "", "| method | route | status | sent | counter | server spans | access-log lines | agree |",
                "|---|---|---|---:|---:|---:|---:|---|"]
        for row in acc["rows"]:
            out.append(f"| {row['method']} | {row['route']} | {row['status']} | {row['sent']} | {row['counter']} | "
                       f"{_cell(row['spans'])} | {_cell(row['logs'])} | {'yes' if row['agree'] else '**no**'} |")
        if r["histogram_count"]:
            out += ["", "### Histogram `_count` beside the counter", "", "| method | route | status | counter | "
                    "_count |", "|---|---|---|---:|---:|"]
            for h in r["histogram_count"]:
                out.append(f"| {h['method']} | {h['route']} | {h['status']} | {h['counter']} | {h['histogram_count']} |")
        if r["slos"]:
            out += ["", "### SLOs under load", "", "| objective | target | client | telemetry | client agrees in | "
                    "client meets | telemetry meets | agree |", "|---|---|---:|---:|---|---|---|---|"]
            for m in r["slos"]:
                ms = m["name"] == "p95_ms"
                out.append(f"| {m['name']} | {m['comparison']} {m['target']:g} | {_num(m['client'], ms)} | "
                           f"{_num(m['telemetry'], ms)} | [{_num(m['agree_low'], ms)}, {_num(m['agree_high'], ms)}] | "
                           f"{'yes' if m['client_meets'] else 'no'} | {'yes' if m['telemetry_meets'] else 'no'} | "
                           f"{'yes' if m['agree'] else '**no**'} |")
        out.append("")
    return "\n".join(out)


def write_reports(results: Sequence[Any], out_dir: Path, command: str) -> tuple[Path, Path]:
    """Write ``load.json`` and ``load.md`` into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = [as_json(r) for r in results]
    json_path, md_path = out_dir / "load.json", out_dir / "load.md"
    json_path.write_text(json.dumps({"command": command, "contracts": {d["contract"]: d for d in data}},
                                    indent=2, default=str))
    md_path.write_text(render_markdown(data, command))
    return json_path, md_path


class LoadReport:
    """pytest plugin object: writes the load reports at the end of a session that ran a load."""

    def __init__(self, config: pytest.Config, runtime: Any, out_dir: Path, progress: Callable[[str], None]) -> None:
        self.config, self.runtime, self.out_dir, self.progress = config, runtime, out_dir, progress

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        results = self.runtime.load_results()
        if not results:
            return
        command = shlex.join(["pytest", *self.config.invocation_params.args])
        _, md = write_reports(results, self.out_dir, command)
        self.progress(f"load report: {md}")
