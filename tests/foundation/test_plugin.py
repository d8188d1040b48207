"""The pytest plugin: options, refusals with the fix, and fixtures failing (never skipping) without a stack."""

from __future__ import annotations

import pytest


def test_unknown_stack_value_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--obsconf-stack=podman")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--obsconf-stack: invalid choice: 'podman'*"])


def test_unknown_stack_env_value_is_refused(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBSCONF_STACK", "kubernetes")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*OBSCONF_STACK='kubernetes' is not a stack mode: use one of auto, process*"])


def test_external_stack_without_urls_fails_with_the_missing_options(pytester: pytest.Pytester,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OBSCONF_JAEGER_URL", "OBSCONF_PROMETHEUS_URL", "OBSCONF_LOKI_URL", "OBSCONF_POCKETBASE_URL",
                "OBSCONF_OTLP_HTTP_URL"):
        monkeypatch.delenv(var, raising=False)
    pytester.makepyfile("def test_x(jaeger): pass")
    result = pytester.runpytest("--obsconf-stack=external", "--obsconf-jaeger-url=http://127.0.0.1:1")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*needs the URL of every backend; missing: otlp_http*prometheus*loki*pocketbase*"])


def test_options_are_grouped_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*observability conformance (obsconf)*", "*--obsconf-stack=*", "*--obsconf-target=URL*"])
