"""The backend stack as containers (testcontainers-python on Docker or Podman): ``--obsconf-stack=container``.

Networking. The service under test is a host process bound to 127.0.0.1. A container on a bridge network
cannot reach the host's loopback, so the two backends that must connect *to* host loopback run in the
host's network namespace, configured like the process stack to listen on 127.0.0.1 ports of their own:
Prometheus (it scrapes the service) and Toxiproxy (its proxies listen where tests and the service connect,
and forward to 127.0.0.1 upstreams). Jaeger, VictoriaLogs, PocketBase and the S3 store only receive
connections: they run on one bridge network per session, each port published on 127.0.0.1 of the host
at a port the engine picks (never 0.0.0.0).

Cleanup. Every container and the network carry ``obsconf.session``, ``obsconf.owner_pid`` (plus the owner's
host name and process start time, so a reused pid is not mistaken for the owner). They are removed when
the stack stops, when a start fails, and by the next session when the owner is dead
(:func:`reap_orphan_containers`).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from obsconf.errors import BackendMissing, BackendNotReady, ObsconfError
from obsconf.loopback import is_loopback
from obsconf.ports import LOOPBACK, free_ports
from obsconf.settings import Settings
from obsconf.stack.endpoints import Endpoints
from obsconf.stack.jaeger import JaegerPorts, jaeger_config
from obsconf.stack.logstore import PUSH_PATH
from obsconf.stack.objectstore import ACCESS_KEY, BUCKETS, SECRET_KEY
from obsconf.stack.pocketbase import ADMIN_EMAIL, ADMIN_PASSWORD
from obsconf.stack.readiness import NotReadyYet, http_ok, wait_ready

if TYPE_CHECKING:
    import docker
    from testcontainers.core.container import DockerContainer

    from obsconf.stack import Stack

LABEL_SESSION = "obsconf.session"
LABEL_OWNER_PID = "obsconf.owner_pid"
LABEL_OWNER_HOST = "obsconf.owner_host"
LABEL_OWNER_START = "obsconf.owner_start"  # start time of the owner pid (clock ticks since boot)
LABEL_WORKDIR = "obsconf.workdir"  # host directory of the session's config files, removed with it
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
# A fixed API version: negotiating it costs a /version round trip, 0.35 s per client on podman 4.3.
# 1.41 is what podman 4 serves and every Docker engine since 20.10 accepts.
API_VERSION = "1.41"
ENGINE_HINT = ("start one with `eval \"$(bash scripts/setup-podman)\"` (podman service on /tmp/podman.sock, "
               "then DOCKER_HOST=unix:///tmp/podman.sock), or use --obsconf-stack=process")

# Fixed ports inside the containers on the session network (published on random 127.0.0.1 host ports).
JAEGER_PORTS = JaegerPorts(otlp_grpc=4317, otlp_http=4318, query_http=16686, query_grpc=16685, health=13133)
LOGS_PORT = 9428
POCKETBASE_PORT = 8090
S3_PORT = 8080
PB_DATA = "/pb_data"


# --- the engine ----------------------------------------------------------------------------------------


def docker_host() -> str:
    """The engine address testcontainers will use: DOCKER_HOST, ~/.testcontainers.properties, docker context."""
    from testcontainers.core.docker_client import get_docker_host

    return get_docker_host() or DEFAULT_SOCKET


def docker_client(timeout: float = 60.0) -> docker.DockerClient:
    """A client of the engine at :func:`docker_host` (API version fixed: no negotiation round trip)."""
    import docker

    kwargs = docker.utils.kwargs_from_env()
    kwargs["base_url"] = docker_host()
    return docker.DockerClient(version=API_VERSION, timeout=timeout, **kwargs)


def engine_available(timeout: float = 1.5) -> bool:
    """True when a Docker-compatible engine answers a ping within ``timeout`` seconds."""
    import docker
    import requests

    try:
        client = docker_client(timeout=timeout)
    except docker.errors.DockerException:
        return False
    try:
        return bool(client.ping())
    except (docker.errors.DockerException, requests.RequestException, OSError):
        return False
    finally:
        client.close()


def engine_missing_message() -> str:
    return f"no container engine answers at {docker_host()}: {ENGINE_HINT}"


# --- ownership labels and the reaper -------------------------------------------------------------------


def process_start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), or None if ``pid`` is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    if fields[0] in ("Z", "X"):  # PID 1 here does not reap zombies: a zombie owner is dead
        return None
    return fields[19]


@dataclass(frozen=True)
class Owner:
    """The session that owns containers: written as labels, read back by the reaper."""

    session: str
    pid: int
    host: str
    start: str

    @classmethod
    def current(cls, session: str) -> Owner:
        pid = os.getpid()
        return cls(session, pid, socket.gethostname(), process_start_time(pid) or "")

    def labels(self, workdir: Path | None = None) -> dict[str, str]:
        labels = {LABEL_SESSION: self.session, LABEL_OWNER_PID: str(self.pid), LABEL_OWNER_HOST: self.host,
                  LABEL_OWNER_START: self.start}
        if workdir is not None:
            labels[LABEL_WORKDIR] = str(workdir)
        return labels


def owner_is_dead(labels: Mapping[str, str], *, host: str,
                  start_time: Callable[[int], str | None] = process_start_time) -> bool:
    """True when the labels name an owner on this host that no longer runs (or whose pid was reused).

    Containers of another host (an engine shared between machines or containers) are never judged dead:
    their owner's pid means nothing here.
    """
    if labels.get(LABEL_OWNER_HOST) != host:
        return False
    try:
        pid = int(labels.get(LABEL_OWNER_PID, ""))
    except ValueError:
        return True  # unreadable ownership: an obsconf container nobody can claim
    started = start_time(pid)
    return started is None or started != labels.get(LABEL_OWNER_START, started)


def reap_orphan_containers(client: docker.DockerClient, *, host: str | None = None) -> list[str]:
    """Remove containers, networks and work dirs of obsconf sessions whose owner is dead; return what went."""
    import docker

    host = host or socket.gethostname()
    reaped: list[str] = []
    dead_sessions: set[str] = set()
    for ctr in client.containers.list(all=True, filters={"label": LABEL_SESSION}):
        labels = ctr.labels or {}
        if not owner_is_dead(labels, host=host):
            continue
        dead_sessions.add(labels.get(LABEL_SESSION, ""))
        try:
            ctr.remove(force=True, v=True)
            reaped.append(f"container {ctr.name}")
        except docker.errors.NotFound:
            pass  # removed meanwhile
        _remove_workdir(labels)
    for net in client.networks.list(filters={"label": LABEL_SESSION}):
        labels = net.attrs.get("Labels") or {}
        if labels.get(LABEL_SESSION) in dead_sessions or owner_is_dead(labels, host=host):
            try:
                net.remove()
                reaped.append(f"network {net.name}")
            except (docker.errors.NotFound, docker.errors.APIError):
                pass  # gone, or a live container of another host still uses it
            _remove_workdir(labels)
    return reaped


def _remove_workdir(labels: Mapping[str, str]) -> None:
    workdir = labels.get(LABEL_WORKDIR)
    # only a directory this module made: a forged or stale label must not delete anything else
    if workdir and Path(workdir).name.startswith("obsconf-ctr-") and Path(workdir).parent == Path(tempfile.gettempdir()):
        shutil.rmtree(workdir, ignore_errors=True)


# --- what each backend container runs ------------------------------------------------------------------


@dataclass(frozen=True)
class Mount:
    host: str
    container: str
    mode: str = "ro"


@dataclass(frozen=True)
class ContainerSpec:
    """One backend container. ``publish`` ports are bound to 127.0.0.1 on the host; with ``host_network``
    nothing is published and the command itself binds 127.0.0.1, so ``ready_port`` is then a host port."""

    backend: str
    image: str
    command: tuple[str, ...]
    ready_port: int
    ready_path: str
    publish: tuple[int, ...] = ()
    host_network: bool = False
    mounts: tuple[Mount, ...] = ()
    any_answer: bool = False  # ready once the server answers below 500 (rclone's / is 403 without auth)


@dataclass(frozen=True)
class HostPorts:
    prometheus: int
    toxiproxy: int


def write_configs(workdir: Path) -> None:
    """Config files and data dirs that containers mount, readable by their non-root users (Jaeger 10001,
    Prometheus 65534). The Prometheus files are written by :class:`PrometheusProcess` itself."""
    workdir.chmod(0o755)  # mkdtemp makes 0700
    (workdir / "jaeger.yaml").write_text(jaeger_config(JAEGER_PORTS, host="0.0.0.0"))  # noqa: S104 - inside its netns
    for bucket in BUCKETS:  # each subfolder is a bucket
        (workdir / "s3" / bucket).mkdir(parents=True, exist_ok=True)


def container_specs(images: Mapping[str, str], workdir: Path, ports: HostPorts) -> list[ContainerSpec]:
    """Every backend container of a session; pure, so the networking rules are unit-tested."""
    return [
        ContainerSpec(
            "jaeger", images["jaeger"], ("--config", "/etc/obsconf/jaeger.yaml"),
            ready_port=JAEGER_PORTS.query_http, ready_path="/api/services",
            publish=(JAEGER_PORTS.otlp_grpc, JAEGER_PORTS.otlp_http, JAEGER_PORTS.query_http),
            mounts=(Mount(str(workdir / "jaeger.yaml"), "/etc/obsconf/jaeger.yaml"),),
        ),
        ContainerSpec(
            "prometheus", images["prometheus"],
            (f"--config.file={workdir / 'prometheus.yml'}", "--storage.tsdb.path=/prometheus",
             f"--web.listen-address={LOOPBACK}:{ports.prometheus}", "--web.enable-lifecycle",
             "--storage.tsdb.retention.time=1d"),
            ready_port=ports.prometheus, ready_path="/-/ready", host_network=True,
            # the same path inside: the config's file_sd and rule globs name host paths
            # TSDB in the image's /prometheus (owned by its user; a volume in the official image, removed
            # with the container). Not a tmpfs: podman's tmpfs is not writable by a non-root user here.
            mounts=(Mount(str(workdir), str(workdir)),),
        ),
        ContainerSpec(
            "victoria-logs", images["victoria-logs"],
            (f"-httpListenAddr=:{LOGS_PORT}", "-storageDataPath=/victoria-logs-data", "-loki.disableMessageParsing",
             "-retentionPeriod=1d", "-loggerLevel=WARN"),
            ready_port=LOGS_PORT, ready_path="/health", publish=(LOGS_PORT,),
        ),
        ContainerSpec(
            "pocketbase", images["pocketbase"],
            ("serve", f"--http=0.0.0.0:{POCKETBASE_PORT}", f"--dir={PB_DATA}", "--automigrate=false"),
            ready_port=POCKETBASE_PORT, ready_path="/api/health", publish=(POCKETBASE_PORT,),
        ),
        ContainerSpec(
            "toxiproxy", images["toxiproxy"], ("-host", LOOPBACK, "-port", str(ports.toxiproxy)),
            ready_port=ports.toxiproxy, ready_path="/version", host_network=True,
        ),
        ContainerSpec(
            "rclone", images["rclone"],
            ("serve", "s3", "--addr", f":{S3_PORT}", "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}",
             "--config", "/dev/null", "/data"),
            ready_port=S3_PORT, ready_path="/", publish=(S3_PORT,), any_answer=True,
            mounts=(Mount(str(workdir / "s3"), "/data", "rw"),),
        ),
    ]


def loopback_only(bindings: Mapping[str, Any] | None) -> list[str]:
    """Published ports of a container's ``HostConfig.PortBindings`` that are NOT bound to 127.0.0.1."""
    bad = []
    for port, binds in (bindings or {}).items():
        for bind in binds or []:
            if not is_loopback(bind.get("HostIp")):
                bad.append(f"{port} -> {bind.get('HostIp') or '0.0.0.0'}:{bind.get('HostPort')}")
    return bad


# --- starting containers -------------------------------------------------------------------------------


def _answers(url: str) -> Callable[[], None]:
    import requests

    def probe() -> None:
        resp = requests.get(url, timeout=2)
        if resp.status_code >= 500:
            raise NotReadyYet(f"GET {url} -> {resp.status_code}")
    return probe


def log_tail(container: DockerContainer, lines: int = 25) -> str:
    import docker

    try:
        text = container.get_wrapped_container().logs(tail=lines).decode(errors="replace").rstrip()
    except (docker.errors.DockerException, ObsconfError) as exc:
        return f"(no log: {exc})"
    return text or "(the container wrote no log)"


def _probe_wait(spec: ContainerSpec, timeout: float, url_of: Callable[[DockerContainer], str]) -> Any:
    """A testcontainers wait strategy that runs obsconf's readiness probe and ends at once, with the
    container's log tail, when the container exits."""
    from testcontainers.core.waiting_utils import WaitStrategy

    class ProbeWait(WaitStrategy):
        def wait_until_ready(self, container: Any) -> None:
            url = url_of(container)
            probe = _answers(url) if spec.any_answer else http_ok(url)

            def exited() -> str | None:
                container.reload()
                if container.status in ("exited", "dead"):
                    state = container.get_wrapped_container().attrs.get("State", {})
                    return f"container status {container.status}, exit code {state.get('ExitCode')}"
                return None

            try:
                wait_ready(f"{spec.backend} container ({spec.image})", probe, timeout=timeout, still_alive=exited)
            except BackendNotReady as exc:
                raise BackendNotReady(f"{exc}\n--- last lines of its log ---\n{log_tail(container)}") from None

    return ProbeWait()


def published_port(container: DockerContainer, port: int) -> int:
    """The 127.0.0.1 host port the engine picked for ``port`` of the container."""
    ctr = container.get_wrapped_container()
    mappings = ctr.client.api.port(ctr.id, port) or []
    for m in mappings:
        if m.get("HostIp") in (LOOPBACK, "") and m.get("HostPort"):
            return int(m["HostPort"])
    raise BackendNotReady(f"container {ctr.name}: port {port} is not published on {LOOPBACK} (got {mappings})")


def make_container(spec: ContainerSpec, *, name: str, labels: dict[str, str], network: str | None,
                   timeout: float) -> DockerContainer:
    """A testcontainers DockerContainer for ``spec`` (not started)."""
    from testcontainers.core.container import DockerContainer

    ctr = DockerContainer(spec.image, command=list(spec.command), name=name,  # type: ignore[arg-type]
                          docker_client_kw={"version": API_VERSION})
    for port in spec.publish:
        # ("127.0.0.1",) = that host IP, a port the engine picks; docker-py turns it into HostIp/HostPort
        ctr.ports[f"{port}/tcp"] = (LOOPBACK,)  # type: ignore[assignment]
    for m in spec.mounts:
        ctr.with_volume_mapping(m.host, m.container, m.mode)
    kwargs: dict[str, Any] = {"labels": labels}
    if spec.host_network:
        # `network` too: without it testcontainers may attach a network it guesses (DOCKER_HOST unset and
        # running inside a container), which contradicts the host network mode
        kwargs["network_mode"] = kwargs["network"] = "host"
    elif network:
        kwargs["network"] = network
        ctr.with_network_aliases(spec.backend)
    ctr.with_kwargs(**kwargs)

    def url_of(started: DockerContainer) -> str:
        port = spec.ready_port if spec.host_network else published_port(started, spec.ready_port)
        return f"http://{LOOPBACK}:{port}{spec.ready_path}"

    return ctr.waiting_for(_probe_wait(spec, timeout, url_of))


def ensure_images(client: docker.DockerClient, images: Iterable[str], progress: Callable[[str], None]) -> None:
    """Pull what the engine lacks; a missing local image (or a failed pull) fails before anything starts."""
    import docker

    missing_local = []
    for ref in sorted(set(images)):
        try:
            client.images.get(ref)
            continue
        except docker.errors.ImageNotFound:
            pass
        if ref.startswith("localhost/"):
            missing_local.append(ref)
            continue
        progress(f"pulling {ref} ...")
        try:
            client.images.pull(ref)
        except docker.errors.DockerException as exc:
            raise BackendMissing(
                f"image {ref} is not in the engine and pulling it failed ({exc}). Without a registry, build "
                "local images with `obsconf images build` (used automatically once present), or point "
                "OBSCONF_IMAGE_<NAME> at an image you have."
            ) from None
    if missing_local:
        raise BackendMissing(f"local image(s) {', '.join(missing_local)} not found in the engine at {docker_host()}: "
                             "build them with `obsconf images build` (needs `obsconf provision` first)")


def check_ryuk(client: docker.DockerClient, progress: Callable[[str], None]) -> None:
    """testcontainers starts its Ryuk reaper unless told not to; without a registry its image is missing,
    and the first container start would fail with a bare 404. obsconf does not need Ryuk (it labels and
    reaps its own containers), so say how to turn it off."""
    import docker
    from testcontainers.core.config import testcontainers_config

    if testcontainers_config.ryuk_disabled:
        return
    image = testcontainers_config.ryuk_image
    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    progress(f"pulling {image} (testcontainers' Ryuk reaper) ...")
    try:
        client.images.pull(image)
    except docker.errors.DockerException as exc:
        raise BackendMissing(
            f"testcontainers' Ryuk reaper is enabled, and its image {image} is not in the engine and cannot be "
            f"pulled ({exc}). Set TESTCONTAINERS_RYUK_DISABLED=true: obsconf labels its containers and removes "
            "them itself, also after a killed session (`bash scripts/setup-podman` prints the exports)."
        ) from None


def _pocketbase_setup(container: DockerContainer, url: str) -> None:
    """As in process mode: a superuser (through the image's own binary) and the batch API; a service creates its
    own collections (syncd migrates daemon_logs)."""
    from obsconf.readers.pocketbase import PocketBaseClient

    ctr = container.get_wrapped_container()
    entrypoint = list(ctr.image.attrs.get("Config", {}).get("Entrypoint") or ["pocketbase"])
    result = container.exec([*entrypoint, "superuser", "upsert", ADMIN_EMAIL, ADMIN_PASSWORD, f"--dir={PB_DATA}"])
    if result.exit_code != 0:
        raise BackendNotReady(f"pocketbase superuser upsert in container {ctr.name} failed "
                              f"(exit {result.exit_code}): {result.output.decode(errors='replace')}")
    client = PocketBaseClient(url, ADMIN_EMAIL, ADMIN_PASSWORD)
    client.enable_batch(100)


def _image_lookups(client: docker.DockerClient) -> tuple[Callable[[str], bool], Callable[[str], list[str]]]:
    """``has_image(ref)`` and ``local_tags(repo)`` answered by the engine, as ``choose_images`` wants them."""
    import docker

    def has_image(ref: str) -> bool:
        try:
            client.images.get(ref)
            return True
        except docker.errors.ImageNotFound:
            return False

    def local_tags(repo: str) -> list[str]:
        return [t.rsplit(":", 1)[1] for img in client.images.list(name=repo) for t in img.tags
                if t.startswith(repo + ":")]

    return has_image, local_tags


def choose_and_check_images(client: docker.DockerClient, settings: Settings,
                            progress: Callable[[str], None]) -> dict[str, str]:
    """backend -> image reference, every image present in the engine (pulled if need be), Ryuk checked."""
    from obsconf.images import choose_images

    chosen = choose_images(settings, *_image_lookups(client))
    progress("images: " + ", ".join(f"{c.ref} ({c.why})" for c in chosen.values()))
    ensure_images(client, (c.ref for c in chosen.values()), progress)
    check_ryuk(client, progress)
    return {name: c.ref for name, c in chosen.items()}


def missing_images(settings: Settings) -> list[str]:
    """The images the container stack would use that the engine does not have (no pull is attempted)."""
    from obsconf.images import choose_images

    client = docker_client(timeout=10)
    try:
        has_image, local_tags = _image_lookups(client)
        return [c.ref for c in choose_images(settings, has_image, local_tags).values() if not has_image(c.ref)]
    finally:
        client.close()


#: container backend -> the optional stack component it is (others always run)
OPTIONAL = {"pocketbase": "pocketbase", "rclone": "s3"}


def start_container_stack(settings: Settings, progress: Callable[[str], None] = print,
                          needs: frozenset[str] = frozenset(OPTIONAL.values())) -> Stack:
    """Start every backend (optional ones only if ``needs`` names them) as a container; on any failure
    remove what was created, then raise."""
    from obsconf.stack import Stack
    from obsconf.stack.prometheus import PrometheusProcess

    if not engine_available():
        raise BackendMissing(engine_missing_message())
    client = docker_client()
    stack = ExitStack()
    stack.callback(client.close)
    try:
        reaped = reap_orphan_containers(client)
        if reaped:
            progress(f"reaped what a dead session left: {', '.join(reaped)}")
        images = choose_and_check_images(client, settings, progress)
        owner = Owner.current(uuid.uuid4().hex[:12])
        workdir = Path(tempfile.mkdtemp(prefix=f"obsconf-ctr-{owner.session}-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        labels = owner.labels(workdir)
        network = client.networks.create(f"obsconf-{owner.session}", driver="bridge", labels=labels)
        stack.callback(_remove_quietly, network)
        write_configs(workdir)
        ports = HostPorts(*free_ports(2))
        # Used for its config file, target files and reload API only; the container runs Prometheus.
        prometheus = PrometheusProcess(Path("/bin/prometheus"), ports.prometheus, workdir,
                                       timeout=settings.ready_timeout, registry=settings.run_dir)
        containers = {
            s.backend: make_container(s, name=f"obsconf-{owner.session}-{s.backend}", labels=labels,
                                      network=None if s.host_network else network.name, timeout=settings.ready_timeout)
            for s in container_specs(images, workdir, ports)
            if s.backend not in OPTIONAL or OPTIONAL[s.backend] in needs
        }
        stack.callback(_remove_all, list(containers.values()))  # before start: a failed start is removed too
        timings: dict[str, float] = {}
        _start_all(containers, timings, progress)
        for backend, ctr in containers.items():
            bad = loopback_only(ctr.get_wrapped_container().attrs.get("HostConfig", {}).get("PortBindings"))
            if bad:
                raise BackendNotReady(f"{backend} container publishes ports beyond {LOOPBACK}: {', '.join(bad)}")
        endpoints = _endpoints(containers, ports,
                               extra={"container_session": owner.session, "container_network": network.name,
                                      "engine": docker_host()})
        if "pocketbase" in containers:
            began = time.monotonic()
            _pocketbase_setup(containers["pocketbase"], endpoints.pocketbase_url)
            timings["pocketbase setup"] = time.monotonic() - began
    except BaseException:
        stack.close()
        raise
    return Stack("container", endpoints, stack, workdir=workdir, prometheus=prometheus, timings=timings,
                 log_readers={b: (lambda c=c: _full_log(c)) for b, c in containers.items()})


def _full_log(container: DockerContainer) -> str:
    import docker

    try:
        return container.get_wrapped_container().logs().decode(errors="replace")
    except (docker.errors.DockerException, ObsconfError):
        return ""


def _endpoints(containers: Mapping[str, DockerContainer], ports: HostPorts, extra: dict[str, str]) -> Endpoints:
    host = f"http://{LOOPBACK}"

    def at(backend: str, port: int) -> str:
        return f"{LOOPBACK}:{published_port(containers[backend], port)}"

    def url(backend: str, port: int) -> str:
        return f"http://{at(backend, port)}" if backend in containers else ""

    pocketbase = "pocketbase" in containers
    s3 = "rclone" in containers

    logs = at("victoria-logs", LOGS_PORT)
    return Endpoints(
        jaeger_query_url=f"http://{at('jaeger', JAEGER_PORTS.query_http)}",
        otlp_http_url=f"http://{at('jaeger', JAEGER_PORTS.otlp_http)}",
        otlp_grpc_endpoint=at("jaeger", JAEGER_PORTS.otlp_grpc),
        prometheus_url=f"{host}:{ports.prometheus}",
        logs_push_url=f"http://{logs}{PUSH_PATH}",
        logs_query_url=f"http://{logs}",
        logs_dialect="logsql",
        pocketbase_url=url("pocketbase", POCKETBASE_PORT),
        pocketbase_admin_email=ADMIN_EMAIL if pocketbase else "",
        pocketbase_admin_password=ADMIN_PASSWORD if pocketbase else "",
        toxiproxy_url=f"{host}:{ports.toxiproxy}",
        s3_url=url("rclone", S3_PORT),
        s3_access_key=ACCESS_KEY if s3 else "",
        s3_secret_key=SECRET_KEY if s3 else "",
        extra=extra,
    )


def _start_all(containers: Mapping[str, DockerContainer], timings: dict[str, float],
               progress: Callable[[str], None]) -> None:
    """Start every container at once (they do not depend on each other); raise the first failure after
    all attempts ended, so the caller removes a consistent set."""

    def start(backend: str, ctr: DockerContainer) -> None:
        began = time.monotonic()
        ctr.start()
        timings[backend] = time.monotonic() - began
        progress(f"  {backend} container ready in {timings[backend]:.2f} s")

    progress(f"starting {len(containers)} containers: {', '.join(containers)} ...")
    with ThreadPoolExecutor(max_workers=len(containers)) as pool:
        futures = [pool.submit(start, b, c) for b, c in containers.items()]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        first = errors[0]
        if isinstance(first, ObsconfError):
            raise first
        raise BackendNotReady(f"starting a container failed: {type(first).__name__}: {first}") from first


def _remove_all(containers: list[DockerContainer]) -> None:
    """Remove containers in parallel (about 0.25 s each on podman)."""
    with ThreadPoolExecutor(max_workers=max(1, len(containers))) as pool:
        list(pool.map(_stop_quietly, containers))


def _stop_quietly(ctr: DockerContainer) -> None:
    import docker

    try:
        ctr.stop()
    except docker.errors.NotFound:
        pass  # never created, or already removed


def _remove_quietly(network: Any) -> None:
    import docker

    try:
        network.remove()
    except docker.errors.NotFound:
        pass  # already removed
