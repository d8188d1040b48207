"""The Prometheus release option of the plugin: option, then OBSCONF_PROMETHEUS_VERSION, then ini, then 3.16;
an unknown release is a usage error naming the choices."""

from __future__ import annotations

import pytest

SHOW_RELEASE = """
import os

def test_show(obsconf_settings):
    print("RELEASE", obsconf_settings.prometheus_version, os.environ.get("OBSCONF_PROMETHEUS_VERSION"))
"""


@pytest.mark.parametrize("args, env, ini, expected", [
    ((), None, None, "3.16 None"),
    (("--obsconf-prometheus-version=2.42",), None, None, "2.42 2.42"),
    ((), "2.42", None, "2.42 2.42"),
    ((), None, "2.42", "2.42 2.42"),
    (("--obsconf-prometheus-version=3.16",), "2.42", "2.42", "3.16 3.16"),
    ((), "3.16", "2.42", "3.16 3.16"),
])
def test_prometheus_release_precedence(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                       args: tuple[str, ...], env: str | None, ini: str | None, expected: str) -> None:
    """The session's choice also lands in the environment, where promtool checks and children read it."""
    import os

    if env is None:
        monkeypatch.delenv("OBSCONF_PROMETHEUS_VERSION", raising=False)
    else:
        monkeypatch.setenv("OBSCONF_PROMETHEUS_VERSION", env)
    if ini is not None:
        pytester.makeini(f"[pytest]\nobsconf_prometheus_version = {ini}\n")
    pytester.makepyfile(SHOW_RELEASE)
    result = pytester.runpytest("-s", *args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*RELEASE {expected}*"])
    assert os.environ.get("OBSCONF_PROMETHEUS_VERSION") == env  # restored after the session


def test_unknown_prometheus_release_is_refused(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--obsconf-prometheus-version=2.0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--obsconf-prometheus-version: invalid choice: '2.0'*"])
    monkeypatch.setenv("OBSCONF_PROMETHEUS_VERSION", "3")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*OBSCONF_PROMETHEUS_VERSION='3': expected one of 3.16, 2.42, "
                                 "e.g. OBSCONF_PROMETHEUS_VERSION=3.16*"])
