"""Pure checks of alerting rules: the contract's rules are in the rules file as the seed wrote them, and
``promtool`` output is turned into findings (running promtool is :mod:`obsconf.checks.promtool`'s job)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from obsconf.checks._common import clip
from obsconf.checks.metrics import openmetrics_float
from obsconf.contract.model import AlertsSpec
from obsconf.model import Finding


def _norm(expr: str) -> str:
    return re.sub(r"\s+", "", expr)


def parse_rules(text: str) -> dict[str, dict[str, Any]]:
    """Alerting rules by name from a Prometheus rules file (``groups[].rules[]``)."""
    data = yaml.safe_load(text) or {}
    out: dict[str, dict[str, Any]] = {}
    for group in data.get("groups", []) if isinstance(data, dict) else []:
        for rule in group.get("rules", []) or []:
            if isinstance(rule, dict) and "alert" in rule:
                out[str(rule["alert"])] = rule
    return out


def check_alert_rules(spec: AlertsSpec, rules_text: str) -> list[Finding]:
    """Every rule the contract names exists in the rules file with the seed's expr, ``for`` and severity."""
    where = spec.loc or "alerts"
    try:
        rules = parse_rules(rules_text)
    except yaml.YAMLError as exc:
        return [Finding("alerts", where, f"rules file {spec.rules_file} is not valid YAML: {exc}")]
    findings = []
    for want in spec.rules:
        here = want.loc or where
        got = rules.get(want.name)
        if got is None:
            findings.append(
                Finding("alerts", here, f"alert {want.name!r} is not in {spec.rules_file}",
                        expected=want.name, actual=sorted(rules))
            )
            continue
        if want.expr is not None and _norm(str(got.get("expr", ""))) != _norm(want.expr):
            findings.append(
                Finding("alerts", here, f"alert {want.name!r} has a different expression than the seed",
                        expected=want.expr, actual=got.get("expr"))
            )
        if want.for_ is not None and str(got.get("for", "")) != want.for_:
            findings.append(
                Finding("alerts", here, f"alert {want.name!r} has a different 'for' duration",
                        expected=want.for_, actual=got.get("for"))
            )
        severity = (got.get("labels") or {}).get("severity")
        if want.severity is not None and severity != want.severity:
            findings.append(
                Finding("alerts", here, f"alert {want.name!r} has a different severity label",
                        expected=want.severity, actual=severity)
            )
    return findings + check_bound_matchers(rules_text, where=f"{where} {spec.rules_file.name}")


# le="1" / quantile!="0.5": an exact matcher on a bucket bound or a quantile (regex matchers are left alone)
_BOUND_MATCHER = re.compile(r'\b(le|quantile)\s*(=|!=)\s*"([^"]*)"')


def check_bound_matchers(rules_text: str, *, where: str = "alerts") -> list[Finding]:
    """Rules whose ``le`` or ``quantile`` matchers compare text that Prometheus 3 never stores.

    Prometheus 3 writes scraped ``le`` and ``quantile`` values in OpenMetrics form (``le="1"`` becomes
    ``le="1.0"``); 2.x keeps what the service exposed. A rule with ``le="1"`` then silently matches nothing
    on 3.x (an alert that cannot fire), whichever client library the service uses."""
    try:
        data = yaml.safe_load(rules_text) or {}
    except yaml.YAMLError:
        return []  # check_alert_rules reports the broken file
    findings = []
    for group in data.get("groups", []) if isinstance(data, dict) else []:
        for rule in (group.get("rules") or []) if isinstance(group, dict) else []:
            if not isinstance(rule, dict):
                continue
            name = rule.get("alert") or rule.get("record") or "?"
            for label, op, text in _BOUND_MATCHER.findall(str(rule.get("expr", ""))):
                try:
                    canonical = openmetrics_float(float(text))
                except ValueError:
                    continue  # not a number: nothing Prometheus rewrites
                if canonical == text:
                    continue
                findings.append(Finding(
                    "alerts", f"{where} rule {name}",
                    f'rule {name!r} matches {label}{op}"{text}": Prometheus 3 stores that bound as "{canonical}", so '
                    f'the matcher never matches there (2.x kept the exposed text). Write {label}{op}"{canonical}", '
                    f'or {label}{"=~" if op == "=" else "!~"}"{text}|{canonical}" for both',
                    expected=f'{label}{op}"{canonical}"', actual=f'{label}{op}"{text}"',
                ))
    return findings


_FAILED_BLOCK = re.compile(r"^\s*FAILED:\s*$", re.M)


def findings_from_promtool(output: str, exit_code: int, *, command: str, where: str = "alerts") -> list[Finding]:
    """Findings from ``promtool test rules`` / ``check rules`` / ``check metrics`` output and exit code.

    Exit 0 is no finding. Otherwise each ``FAILED:`` block (unit tests) or each problem line (checks)
    becomes one finding; if nothing could be split out, the whole output is one finding."""
    if exit_code == 0:
        return []
    text = output.strip()
    findings: list[Finding] = []
    if _FAILED_BLOCK.search(text):
        blocks = _FAILED_BLOCK.split(text)[1:]
        for block in blocks:
            # Each block names the failing alert or expr, then "exp:[...]" and "got:[...]" over several lines.
            flat = " ".join(block.split())
            m = re.match(r"(?P<head>.*?)exp:(?P<exp>.*?)got:(?P<got>.*)", flat)
            head = (m.group("head") if m else flat).strip().rstrip(",")
            findings.append(
                Finding(
                    "alerts",
                    where,
                    f"promtool unit test failed: {clip(head, 160)}",
                    expected=clip(m.group("exp").strip().rstrip(","), 300) if m else None,
                    actual=clip(m.group("got").strip(), 300) if m else clip(flat, 300),
                    query=command,
                )
            )
        return findings
    problems = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(("Checking ", "  SUCCESS", "Unit Testing"))]
    for ln in problems[:20]:
        findings.append(Finding("alerts", where, f"promtool: {clip(ln.strip(), 240)}", query=command))
    if not findings:
        findings.append(Finding("alerts", where, f"promtool exited {exit_code} without output", query=command))
    return findings
