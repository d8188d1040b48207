"""Run the real ``promtool`` on exposition text and alerting rules, and return findings.

This module runs a local binary (no network). It is kept apart from the pure checks so they stay pure.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import yaml

from obsconf import provision
from obsconf.checks.alerts import findings_from_promtool
from obsconf.errors import BackendMissing
from obsconf.model import Finding
from obsconf.settings import Settings

TIMEOUT_S = 60.0
#: An explicit promtool binary; wins over the provisioned one of the selected Prometheus release.
ENV_PROMTOOL = "OBSCONF_PROMTOOL"


def promtool_path(settings: Settings | None = None) -> str:
    """Path of promtool: ``$OBSCONF_PROMTOOL``, else the provisioned promtool of the session's Prometheus
    release (``OBSCONF_PROMETHEUS_VERSION``, default 3.16), so rules and expositions are judged by the same
    Prometheus the stack runs. BackendMissing says how to get it."""
    explicit = os.environ.get(ENV_PROMTOOL)
    if explicit:
        if os.access(explicit, os.X_OK):
            return explicit
        raise BackendMissing(f"{ENV_PROMTOOL}={explicit} is not an executable promtool: fix the path or unset it "
                             "to use the provisioned one (`obsconf provision`)")
    try:
        return str(provision.binary(settings or Settings.from_env(), "promtool"))
    except BackendMissing as exc:
        raise BackendMissing(f"{exc} Or point {ENV_PROMTOOL} at a promtool.") from None


def _run(args: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    command = " ".join(args)
    try:
        done = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return 124, f"promtool did not finish within {TIMEOUT_S:g} s", command
    return done.returncode, (done.stdout + done.stderr), command


def promtool_check_metrics(text: str, *, where: str = "metrics", settings: Settings | None = None) -> list[Finding]:
    """``promtool check metrics`` on exposition text: one finding per lint problem (naming, HELP, units).
    ``settings`` picks the Prometheus release (default: from the environment)."""
    tool = promtool_path(settings)
    if not text.strip():
        return [Finding("metrics.promtool", where, "the metrics endpoint answered nothing, so promtool had nothing "
                        "to check: is the registry wired to the endpoint?", expected="exposition text",
                        actual="empty")]
    code, output, command = _run([tool, "check", "metrics"], stdin=text)
    findings = findings_from_promtool(output, code, command=command, where=where)
    return [
        Finding("metrics.promtool", f.where, f.message, f.expected, f.actual, f.query, f.link) for f in findings
    ]


def promtool_test_rules(rules_file: str | os.PathLike[str], tests_file: str | os.PathLike[str], *, where: str = "alerts",
                        settings: Settings | None = None) -> list[Finding]:
    """``promtool check rules`` then ``promtool test rules`` with ``tests_file`` pointed at ``rules_file``.

    The tests file is copied with ``rule_files`` replaced by the absolute rules path, so it can be run
    against any copy of the rules (e.g. a service's own rules file)."""
    tool = promtool_path(settings)
    rules = Path(rules_file).resolve()
    tests = Path(tests_file).resolve()
    for p, what in ((rules, "rules file"), (tests, "promtool tests file")):
        if not p.is_file():
            return [Finding("alerts", where, f"{what} {p} does not exist")]
    code, output, command = _run([tool, "check", "rules", str(rules)])
    if code != 0:
        return findings_from_promtool(output, code, command=command, where=where)
    data = yaml.safe_load(tests.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        return [Finding("alerts", where, f"promtool tests file {tests} is not a YAML mapping")]
    data["rule_files"] = [str(rules)]
    with tempfile.TemporaryDirectory(prefix="obsconf-promtool-") as tmp:
        copy = Path(tmp) / tests.name
        copy.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        code, output, command = _run([tool, "test", "rules", str(copy)])
    return findings_from_promtool(output, code, command=f"promtool test rules {tests} (rules: {rules})", where=where)
