"""Pure checks of alerting rules: the contract's rules are in the rules file as the seed wrote them, and
``promtool`` output is turned into findings (running promtool is :mod:`obsconf.checks.promtool`'s job)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from obsconf.checks._common import clip
from obsconf.checks.metrics import openmetrics_float
from obsconf.contract.model import AlertDrive, AlertsSpec
from obsconf.model import Finding

#: Alert states Prometheus reports; a rule with no alert for the service is "inactive".
ACTIVE = ("pending", "firing")


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
    if not spec.rules:
        return [Finding("alerts", where, "the contract names no alert rule, so none was checked: list the seed's "
                        "rules under alerts.rules", expected="alerts.rules", actual="none")]
    if not rules:
        return [Finding("alerts", where, f"{spec.rules_file} holds no alerting rule (groups[].rules[].alert)",
                        expected=[r.name for r in spec.rules], actual="none")]
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


def check_alert_drive(
    drive: AlertDrive,
    rule_names: Sequence[str],
    before: Mapping[str, str],
    seen: Mapping[str, str],
    *,
    job: str,
    for_override: str | None = None,
    query: str = "",
    link: str = "",
) -> list[Finding]:
    """After ``drive`` made the service's series meet some alert conditions: each alert of ``drive.fires``
    reached pending or firing for ``job`` (``seen``: the most active state each rule reached during the drive),
    and no other rule that was inactive before the drive (``before``) became active."""
    where = drive.loc or f"alerts.drives {drive.name}"
    note = f" (the contract shortens every rule's 'for' to {for_override})" if for_override else ""
    if not rule_names:
        return [Finding("alerts.live", where, "Prometheus evaluated none of the contract's rules for this service: "
                        "were the rules loaded?", expected=list(drive.fires), actual="no rules", query=query,
                        link=link)]
    findings = []
    for name in drive.fires:
        state = seen.get(name, "inactive")
        if state not in ACTIVE:
            findings.append(Finding(
                "alerts.live", where, f"alert {name!r} did not fire for job {job!r} while drive {drive.name!r} made "
                f"its condition true{note}: its expression does not see the service's series (metric or label "
                "names differ, or the service does not count what the drive did)",
                expected="pending or firing", actual=state, query=query, link=link))
    for name in rule_names:
        if name in drive.fires or before.get(name, "inactive") in ACTIVE:
            continue
        state = seen.get(name, "inactive")
        if state in ACTIVE:
            findings.append(Finding(
                "alerts.live", where, f"alert {name!r} became {state} during drive {drive.name!r}, whose conditions "
                f"are only those of {', '.join(drive.fires)}: it fires when it should stay quiet{note}",
                expected="inactive", actual=state, query=query, link=link))
    return findings


def most_active(states: Sequence[str]) -> str:
    """The most active of several observed states: firing > pending > inactive."""
    order = {"inactive": 0, "pending": 1, "firing": 2}
    return max(states, key=lambda x: order.get(x, 0), default="inactive")
