"""Provisioning: both Prometheus releases are listed, the selected one is the one resolved (and required),
the other is optional, and a bad selection names the choices. No build runs here (an empty cache)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from obsconf import provision
from obsconf.errors import BackendMissing, UsageError
from obsconf.settings import Settings


def fake_build(cache: Path) -> None:
    """Executables where `obsconf provision` puts the Prometheus 3.16 build."""
    for tool in ("prometheus", "promtool"):
        path = provision.PROMETHEUS_3.binary(Settings(cache_dir=cache), tool)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)


def test_prometheus_3_is_pinned_to_the_module_version_of_3_16() -> None:
    build = provision.PROMETHEUS_3
    assert (build.module, build.version, build.has_replace) == ("github.com/prometheus/prometheus", "v0.316.0", False)
    assert build.binaries == ("prometheus", "promtool")
    assert "-X github.com/prometheus/common/version.Version=3.16.0" in build.ldflags
    assert build in provision.GO_BUILDS  # provisioned (and cached) like the other Go builds


def test_both_releases_are_listed_and_3_16_is_the_default(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path)
    assert settings.prometheus_version == "3.16"
    labels = [c.label for c in provision.components(settings)]
    assert labels[:4] == ["prometheus 3.16", "promtool 3.16", "prometheus 2.42", "promtool 2.42"]
    paths = {c.label: c.path for c in provision.components(settings)}
    assert paths["prometheus 3.16"] == tmp_path / "bin/prometheus/v0.316.0/prometheus"
    assert paths["promtool 3.16"] == tmp_path / "bin/prometheus/v0.316.0/promtool"
    assert paths["prometheus 2.42"] == Path("/usr/bin/prometheus")


def test_the_selected_release_is_the_binary_that_runs(tmp_path: Path) -> None:
    fake_build(tmp_path)
    new = Settings(cache_dir=tmp_path)
    old = Settings(cache_dir=tmp_path, prometheus_version="2.42")
    assert provision.binary(new, "prometheus") == tmp_path / "bin/prometheus/v0.316.0/prometheus"
    assert provision.binary(new, "promtool") == tmp_path / "bin/prometheus/v0.316.0/promtool"
    if os.access("/usr/bin/prometheus", os.X_OK):
        assert provision.binary(old, "prometheus") == Path("/usr/bin/prometheus")


def test_a_missing_selected_release_says_how_to_get_it_or_the_other(tmp_path: Path) -> None:
    with pytest.raises(BackendMissing, match=r"prometheus 3\.16 \(3\.16\.0 \(go v0\.316\.0\)\) is not installed.*"
                                             r"obsconf provision.*OBSCONF_PROMETHEUS_VERSION=2\.42"):
        provision.binary(Settings(cache_dir=tmp_path), "prometheus")


def test_an_unknown_release_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"'3\.0'.*OBSCONF_PROMETHEUS_VERSION.*use one of 3\.16, 2\.42"):
        provision.binary(Settings(cache_dir=tmp_path, prometheus_version="3.0"), "prometheus")


def test_check_requires_the_selected_release_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the Prometheus entries matter here: the rest are present (their real state is not this test's).
    real = provision.components

    def components(settings: Settings) -> list[provision.Component]:
        return [c if c.variant else provision.Component(c.name, Path("/bin/sh"), c.version) for c in real(settings)]

    monkeypatch.setattr(provision, "components", components)
    monkeypatch.setattr(provision, "DEBIAN_BIN", tmp_path / "no-debian")  # 2.42 absent
    lines: list[str] = []
    fake_build(tmp_path)
    assert provision.check(Settings(cache_dir=tmp_path), out=lines.append) == 0
    text = "\n".join(lines)
    assert "ok       prometheus 3.16    3.16.0 (go v0.316.0)" in text and "(selected)" in text
    assert "absent   prometheus 2.42" in text and "optional: only for OBSCONF_PROMETHEUS_VERSION=2.42" in text
    lines.clear()
    assert provision.check(Settings(cache_dir=tmp_path, prometheus_version="2.42"), out=lines.append) == 1
    assert lines[-1] == "missing: prometheus 2.42, promtool 2.42; run `obsconf provision`"


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBSCONF_PROMETHEUS_VERSION", "2.42")
    assert Settings.from_env().prometheus_version == "2.42"
    assert Settings.from_env(prometheus_version="3.16").prometheus_version == "3.16"  # an argument wins
    monkeypatch.delenv("OBSCONF_PROMETHEUS_VERSION")
    assert Settings.from_env().prometheus_version == "3.16"


def test_a_cached_build_is_not_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Warm CI: every Go build present -> no `go` is run (the Go builds are faked, apt is not needed)."""
    settings = Settings(cache_dir=tmp_path)
    for build in provision.GO_BUILDS:
        for name in build.binaries:
            path = build.binary(settings, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("#!/bin/sh\n")
            path.chmod(0o755)
    monkeypatch.setattr(provision, "_go_build", lambda *a: pytest.fail("a cached build was rebuilt"))
    monkeypatch.setattr(provision, "_apt_install", lambda *a: None)
    lines: list[str] = []
    provision.provision(settings, out=lines.append)
    assert "[6/6] prometheus v0.316.0 (Prometheus 3.16.0 and promtool): cached" in lines


def fake_go(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[list[str]]:
    """Record the go commands and write the binaries go would write, named as go names them."""
    import json
    import subprocess

    calls: list[list[str]] = []

    def run(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, log: Path) -> None:
        calls.append(argv)
        if argv[1] == "install":
            out, names = Path(env["GOBIN"]), [a.split("@")[0].rsplit("/", 1)[-1] for a in argv if "@" in a]
        else:
            out = Path(argv[argv.index("-o") + 1])
            names = [a.rsplit("/", 1)[-1] for a in argv[argv.index("-o") + 2:]]
        for name in names:
            (out / name).write_text(f"#!/bin/sh\necho {name}\n")

    module_dir = tmp_path / "module"
    module_dir.mkdir()

    def go_mod_download(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 0, json.dumps({"Dir": str(module_dir)}), "")

    monkeypatch.setattr(provision, "_run", run)
    monkeypatch.setattr(provision.subprocess, "run", go_mod_download)
    return calls


def test_go_build_installs_every_binary_of_a_module_with_its_flags(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_go(monkeypatch, tmp_path)
    settings = Settings(cache_dir=tmp_path / "cache")
    provision._go_build(provision.PROMETHEUS_3, settings, tmp_path / "log")
    assert calls == [["go", "install", f"-ldflags={provision.PROMETHEUS_3.ldflags}",
                      "github.com/prometheus/prometheus/cmd/prometheus@v0.316.0",
                      "github.com/prometheus/prometheus/cmd/promtool@v0.316.0"]]
    for tool in ("prometheus", "promtool"):
        assert provision.PROMETHEUS_3.binary(settings, tool).read_text().endswith(f"echo {tool}\n")


@pytest.mark.parametrize("build", [b for b in provision.GO_BUILDS if b is not provision.PROMETHEUS_3],
                         ids=lambda b: b.name)
def test_go_build_names_a_single_binary_after_the_backend(build: provision.GoBuild, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """toxiproxy's ./cmd/server becomes toxiproxy-server; jaeger (replace directives) is built in a copy."""
    calls = fake_go(monkeypatch, tmp_path)
    settings = Settings(cache_dir=tmp_path / "cache")
    provision._go_build(build, settings, tmp_path / "log")
    assert build.binary(settings).exists()
    assert calls[0][1] == ("build" if build.has_replace else "install")
