"""``reports/conformance.html``: the run summary as one self-contained page (inline CSS, images as data: URIs,
no script, nothing fetched), rendered from the JSON document of :mod:`obsconf.report.summary` alone.

:func:`render_html` is pure (document in, HTML text out); :func:`write_html` reads the JSON, the optional
coverage document and the overhead plots beside it, and writes the page. Failures come first, each finding
with its expected and actual values, the query that was asked and a link into Jaeger, Prometheus or the
log store; then every case of every contract; then the traceability tables and the overhead plots.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: Name of the page written beside ``conformance.json``.
HTML_NAME = "conformance.html"

_COVERAGE_COLUMNS = ("requirement", "seed_lines", "contract_path", "cases", "status", "note")
_COVERAGE_HEADINGS = {"requirement": "seed requirement", "seed_lines": "seed lines", "contract_path": "contract",
                      "cases": "cases", "status": "status", "note": "note"}
_GOOD_STATUS = ("covered", "checked", "passed", "ok")


@dataclass(frozen=True)
class Image:
    """A picture to embed (PNG bytes), with a caption."""

    name: str
    data: bytes
    caption: str = ""
    mime: str = "image/png"


_CSS = """
:root { --fail: #b42318; --fail-bg: #fef3f2; --fail-line: #fda29b; --pass: #067647; --pass-bg: #ecfdf3;
  --muted: #5d6b82; --line: #d0d5dd; --code-bg: #f2f4f7; --off: #6941c6; --off-bg: #f4f3ff; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #101828; margin: 0; background: #fff; }
main { max-width: 1320px; margin: 0 auto; padding: 20px 28px 60px; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 21px; margin: 34px 0 10px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 0; }
a { color: #175cd3; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 13px; }
code { background: var(--code-bg); padding: 1px 5px; border-radius: 4px; }
pre { background: var(--code-bg); padding: 10px 12px; border-radius: 6px; white-space: pre-wrap;
  word-break: break-word; margin: 6px 0 0; max-height: 28em; overflow: auto; }
.meta { color: var(--muted); margin: 4px 0 0; }
.verdict { display: inline-block; font-size: 18px; font-weight: 700; padding: 6px 14px; border-radius: 8px;
  margin: 10px 0 4px; }
.verdict.fail { color: var(--fail); background: var(--fail-bg); border: 1px solid var(--fail-line); }
.verdict.pass { color: var(--pass); background: var(--pass-bg); border: 1px solid #75e0a7; }
.note { color: var(--muted); font-size: 13px; }
.badge { display: inline-block; min-width: 64px; text-align: center; font-size: 12px; font-weight: 700;
  letter-spacing: .03em; padding: 2px 8px; border-radius: 999px; text-transform: uppercase; }
.badge.failed, .badge.error { color: #fff; background: var(--fail); }
.badge.passed { color: var(--pass); background: var(--pass-bg); border: 1px solid #abefc6; }
.badge.seed_defect { color: #7a2e0e; background: #fef0c7; border: 1px solid #fedf89; }
.badge.off { color: var(--off); background: var(--off-bg); border: 1px solid #d9d6fe; }
.badge.other { color: var(--muted); background: var(--code-bg); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 6px 10px; border-bottom: 1px solid var(--line); }
thead th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  border-bottom: 2px solid var(--line); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.v { white-space: nowrap; width: 1%; }
section h3 { margin: 18px 0 6px; }
tr.failed td, tr.error td { background: var(--fail-bg); }
.summary td, .summary th { font-size: 15px; }
.case { border: 1px solid var(--fail-line); border-left: 6px solid var(--fail); border-radius: 8px;
  padding: 12px 16px; margin: 14px 0; background: #fff; }
.case header { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.case header h3 { margin: 0; }
.case header h3 code { font-size: 15px; }
.rerun { color: var(--muted); font-size: 12px; margin: 8px 0 0; }
.case .where { color: var(--muted); }
.describe { margin: 6px 0 8px; color: #344054; }
.finding { border-top: 1px solid var(--line); padding: 8px 0 4px; }
.finding:first-of-type { border-top: 0; }
.finding .msg { font-weight: 500; }
.finding .check { font-weight: 700; color: var(--fail); margin-right: 6px; }
.finding dl { display: grid; grid-template-columns: 92px 1fr; gap: 4px 12px; margin: 6px 0 0; }
.finding dt { color: var(--muted); font-size: 13px; padding-top: 2px; }
.finding dd { margin: 0; min-width: 0; }
.finding dd code { display: inline-block; white-space: pre-wrap; word-break: break-word; max-width: 100%; }
.value-expected code { background: var(--pass-bg); }
.value-actual code { background: var(--fail-bg); }
.link-host { color: var(--muted); font-size: 12px; margin-left: 6px; }
ul.optouts { margin: 6px 0 0; padding-left: 20px; }
figure { margin: 14px 0; }
figure img { max-width: 100%; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 13px; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _value(value: Any, limit: int = 2000) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _anchor(case_id: str) -> str:
    return "case-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in case_id)


def _case_id(check: dict[str, Any]) -> str:
    if check.get("case_id"):
        return str(check["case_id"])
    test_id = str(check.get("test_id", ""))
    return test_id[test_id.find("[") + 1: -1] if test_id.endswith("]") and "[" in test_id else test_id


def _backend(url: str, check: str) -> str:
    """Which UI a finding's link opens, for the link's label."""
    parts = urlsplit(url)
    path = parts.path
    if "/trace/" in path or path.startswith("/search") or check.startswith(("spans", "correlation")):
        return "Jaeger"
    if path.startswith(("/graph", "/query")) or "g0.expr" in parts.query:
        return "Prometheus"
    if path.endswith("/metrics") or check.startswith("metrics"):
        return "the service's /metrics" if path.endswith("/metrics") else "Prometheus"
    if path.startswith("/_/") or "/api/collections" in path:
        return "PocketBase"
    if "vmui" in path or "select" in path or "loki" in path or check.startswith("logs"):
        return "the log store"
    return "the backend"


def _link(url: str, check: str) -> str:
    if not url:
        return ""
    if urlsplit(url).scheme not in ("http", "https"):
        return f"<code>{_e(url)}</code>"
    host = urlsplit(url).netloc
    return (f'<a href="{_e(url)}">Open in {_e(_backend(url, check))}</a>'
            f'<span class="link-host">{_e(host)}</span>')


def _finding(f: dict[str, Any]) -> str:
    check = str(f.get("check", ""))
    rows = []
    if f.get("expected") is not None or f.get("actual") is not None:
        rows.append(f'<dt>expected</dt><dd class="value-expected"><code>{_e(_value(f.get("expected")))}</code></dd>')
        rows.append(f'<dt>actual</dt><dd class="value-actual"><code>{_e(_value(f.get("actual")))}</code></dd>')
    if f.get("query"):
        rows.append(f'<dt>query</dt><dd><code>{_e(_value(f["query"], 1000))}</code></dd>')
    if f.get("link"):
        rows.append(f"<dt>see</dt><dd>{_link(str(f['link']), check)}</dd>")
    where = f'<div class="where mono">{_e(f["where"])}</div>' if f.get("where") else ""
    return (f'<div class="finding"><div class="msg"><span class="check">{_e(check)}</span>{_e(f.get("message", ""))}'
            f"</div>{where}<dl>{''.join(rows)}</dl></div>")


def _failure(check: dict[str, Any]) -> str:
    case_id = _case_id(check)
    outcome = str(check.get("outcome", "failed"))
    findings = check.get("findings") or []
    body = "".join(_finding(f) for f in findings)
    if not findings:
        body = f"<pre>{_e(_value(str(check.get('message', '')).strip(), 4000))}</pre>"
    count = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}" if findings else "no structured findings"
    describe = f'<p class="describe">Checks: {_e(check["describe"])}</p>' if check.get("describe") else ""
    rerun = f'<p class="rerun">Run it alone: <code>pytest conformance -k {_e(case_id)}</code></p>'
    return (f'<article class="case {_e(outcome)}" id="{_anchor(case_id)}"><header>'
            f'<span class="badge {_e(outcome)}">{_e(outcome)}</span><h3><code>{_e(case_id)}</code></h3>'
            f'<span class="where">{_e(check.get("contract", ""))} · {_e(check.get("section", ""))} · {count}</span>'
            f"</header>{describe}{body}{rerun}</article>")


def _badge(outcome: str) -> str:
    kind = outcome if outcome in ("passed", "failed", "error", "seed_defect") else "other"
    return f'<span class="badge {kind}">{_e(outcome)}</span>'


def _cases_table(checks: list[dict[str, Any]]) -> str:
    rows = []
    for c in sorted(checks, key=lambda c: c.get("outcome") == "passed"):  # failures first, run order kept
        case_id = _case_id(c)
        outcome = str(c.get("outcome", ""))
        name = (f'<a href="#{_anchor(case_id)}"><code>{_e(case_id)}</code></a>' if outcome != "passed"
                else f"<code>{_e(case_id)}</code>")
        duration = c.get("duration_s")
        took = f"{float(duration):.2f} s" if isinstance(duration, int | float) else ""
        rows.append(f'<tr class="{_e(outcome)}"><td class="v">{_badge(outcome)}</td><td>{name}</td>'
                    f'<td>{_e(c.get("describe", ""))}</td><td class="num">{took}</td></tr>')
    return ('<table class="cases"><thead><tr><th>verdict</th><th>case</th><th>what it checks</th>'
            f'<th class="num">time</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _coverage(profile: str, cov: dict[str, Any], outcomes: dict[str, str]) -> str:
    rows = [r for r in cov.get("rows", []) if isinstance(r, dict)]
    if not rows:
        return ""
    extra = [k for r in rows for k in r if k not in _COVERAGE_COLUMNS]
    columns = [c for c in _COVERAGE_COLUMNS if any(c in r for r in rows)] + list(dict.fromkeys(extra))
    head = "".join(f"<th>{_e(_COVERAGE_HEADINGS.get(c, c))}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for col in columns:
            value = r.get(col)
            if col == "cases":
                ids = value if isinstance(value, list) else ([value] if value else [])
                cells.append("<td>" + "<br>".join(
                    f'{_badge(outcomes[i]) + " " if i in outcomes else ""}<a href="#{_anchor(str(i))}">'
                    f"<code>{_e(i)}</code></a>" if i in outcomes else f"<code>{_e(i)}</code>" for i in ids)
                    + ("" if ids else '<span class="badge failed">none</span>') + "</td>")
            elif col == "status" and value is not None:
                kind = "passed" if str(value).lower() in _GOOD_STATUS else "failed"
                cells.append(f'<td><span class="badge {kind}">{_e(value)}</span></td>')
            else:
                cells.append(f"<td>{_e(_value(value, 400)) if value is not None else ''}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    seed = f" (seed <code>{_e(cov['seed'])}</code>)" if cov.get("seed") else ""
    return (f'<h3 id="coverage-{_e(profile)}">Traceability: seed → contract → cases{seed}</h3>'
            f"<table class=\"coverage\"><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _overhead(overhead: dict[str, Any] | None, images: Sequence[Image]) -> str:
    if not overhead and not images:
        return ""
    parts = ['<section id="overhead"><h2>Instrumentation overhead</h2>']
    if overhead:
        cfg = overhead.get("config", {})
        cpu = (overhead.get("comparison") or {}).get("cpu_us_per_request")
        when = overhead.get("created_utc", "")
        parts.append(f'<p class="meta">From <code>obsconf overhead</code> (profile {_e(cfg.get("profile", "?"))}, '
                     f"{_e(cfg.get('rounds', '?'))} pairs of rounds), {_e(when)}; a separate run, not this "
                     "conformance session.</p>")
        if cpu:
            parts.append(
                f"<p>Instrumentation costs <strong>{float(cpu['diff_median']):,.1f} µs CPU per request</strong> "
                f"(median of {_e(cpu.get('pairs', '?'))} pairs; 95% CI {float(cpu['diff_ci_low']):,.1f} to "
                f"{float(cpu['diff_ci_high']):,.1f} µs), {float(cpu['pct_median']):+.1f}% of the uninstrumented "
                f"{float(cpu['b_median']):,.1f} µs.</p>")
    for img in images:
        data = base64.b64encode(img.data).decode("ascii")
        parts.append(f'<figure><img alt="{_e(img.caption or img.name)}" src="data:{_e(img.mime)};base64,{data}">'
                     f"<figcaption>{_e(img.caption or img.name)}</figcaption></figure>")
    parts.append("</section>")
    return "".join(parts)


def render_html(doc: dict[str, Any], *, images: Sequence[Image] = (), overhead: dict[str, Any] | None = None,
                generated: str = "") -> str:
    """The page for one run summary document (``reports/conformance.json``): failures first, then every case."""
    # contracts with failures first, then by name
    contracts: dict[str, Any] = dict(sorted((doc.get("contracts") or {}).items(),
                                            key=lambda kv: (not kv[1].get("failed"), kv[0])))
    coverage: dict[str, Any] = doc.get("coverage") or {}
    meta: dict[str, Any] = doc.get("meta") or {}
    checks = [c for body in contracts.values() for c in body.get("checks", [])]
    failed = [c for c in checks if c.get("outcome") not in ("passed", "seed_defect")]
    outcomes = {_case_id(c): str(c.get("outcome", "")) for c in checks}
    total = len(checks)
    title = (f"{len(failed)} of {total} cases failed" if failed else f"all {total} cases passed") if total \
        else "no conformance case ran"
    meta_text = " · ".join(f"{_e(k)}: {_e(v)}" for k, v in meta.items())
    out = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>obsconf conformance: {_e(title)}</title><style>{_CSS}</style></head><body><main>",
        "<header><h1>obsconf conformance run</h1>",
        f'<div class="verdict {"fail" if failed or not total else "pass"}" id="verdict">{_e(title)}</div>',
        f'<p class="meta">{meta_text}{" · " + _e(generated) if generated else ""}</p>',
        '<p class="note">Links open the backends of this run (127.0.0.1): they answer while that stack runs '
        "(<code>obsconf stack up</code> keeps one up; an external stack keeps its own).</p></header>",
    ]
    # contracts at a glance
    rows = []
    for name, body in contracts.items():
        n_off = len(body.get("opt_outs") or [])
        state = "failed" if body.get("failed") else "passed"
        rows.append(f'<tr class="{state}"><td class="v">{_badge(state)}</td><td><a href="#contract-{_e(name)}">{_e(name)}</a>'
                    f'</td><td class="num">{_e(body.get("passed", 0))}</td><td class="num">{_e(body.get("failed", 0))}'
                    f'</td><td class="num">{n_off}</td></tr>')
    if rows:
        out.append('<table class="summary" id="contracts"><thead><tr><th>verdict</th><th>contract</th>'
                   '<th class="num">passed</th><th class="num">failed</th><th class="num">not run</th></tr></thead>'
                   f"<tbody>{''.join(rows)}</tbody></table>")
    if failed:
        out.append(f'<section id="failures"><h2>Failures ({len(failed)})</h2>')
        out += [_failure(c) for c in failed]
        out.append("</section>")
    for name, body in contracts.items():
        out.append(f'<section id="contract-{_e(name)}"><h2>{_e(name)}: {_e(body.get("passed", 0))} passed, '
                   f'{_e(body.get("failed", 0))} failed</h2>')
        out.append(_cases_table(body.get("checks", [])))
        offs = body.get("opt_outs") or []
        if offs:
            out.append("<h3>Not run: turned off by the contract</h3><ul class=\"optouts\">")
            out += [f'<li><span class="badge off">off</span> <code>{_e(o.get("check", ""))}</code> '
                    f'<span class="where mono">{_e(o.get("where", ""))}</span>: {_e(o.get("reason", ""))}</li>'
                    for o in offs]
            out.append("</ul>")
        if name in coverage and isinstance(coverage[name], dict):
            out.append(_coverage(name, coverage[name], outcomes))
        out.append("</section>")
    for name, cov in coverage.items():  # traceability of a seed no contract of this run covers
        if name not in contracts and isinstance(cov, dict):
            out.append(f'<section id="contract-{_e(name)}"><h2>{_e(name)}: no case ran</h2>'
                       f"{_coverage(name, cov, outcomes)}</section>")
    out.append(_overhead(overhead, images))
    out.append(f'<footer>obsconf report, schema {_e(doc.get("schema_version", "?"))}; rebuild with '
               "<code>obsconf report html --json reports/conformance.json</code>.</footer></main></body></html>\n")
    return "".join(out)


def _plots(directory: Path) -> list[Image]:
    from obsconf.overhead.report import PLOT_CPU, PLOT_LATENCY

    captions = {PLOT_LATENCY: "Latency, instrumented (A) vs uninstrumented (B)",
                PLOT_CPU: "CPU per request by round, A vs B"}
    names = [n for n in (PLOT_LATENCY, PLOT_CPU) if (directory / n).is_file()]
    names += sorted(p.name for p in directory.glob("overhead*.png") if p.name not in names)
    return [Image(n, (directory / n).read_bytes(), captions.get(n, n)) for n in names]


def write_html(json_path: Path, out: Path | None = None, *, coverage: Path | None = None) -> Path:
    """Render ``json_path`` (and the overhead report and plots in its directory) to ``out`` (default: beside it)."""
    from obsconf.errors import UsageError

    try:
        doc = json.loads(json_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{json_path}: cannot read the run summary ({exc.strerror or exc}); run the conformance "
                         "suite first (pytest conformance/) or pass --json FILE") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{json_path}:{exc.lineno}: not JSON ({exc.msg})") from None
    if coverage is not None:
        try:
            doc["coverage"] = {**doc.get("coverage", {}), **json.loads(coverage.read_text(encoding="utf-8"))}
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"{coverage}: cannot read the coverage document: {exc}") from None
    directory = json_path.parent
    overhead = None
    if (directory / "overhead.json").is_file():
        try:
            overhead = json.loads((directory / "overhead.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            overhead = None  # a half-written overhead report is not this page's business: plots still show
    stamp = dt.datetime.fromtimestamp(json_path.stat().st_mtime, dt.UTC).strftime("summary written %Y-%m-%d %H:%M UTC")
    target = out or directory / HTML_NAME
    target.write_text(render_html(doc, images=_plots(directory), overhead=overhead, generated=stamp),
                      encoding="utf-8")
    return target
