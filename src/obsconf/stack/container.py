"""The backend stack as containers (testcontainers-python on Docker or Podman): ``--obsconf-stack=container``.

Networking. The service under test is a host process bound to 127.0.0.1. A container on a bridge network
cannot reach the host's loopback, so the two backends that must connect *to* host loopback run in the
host's network namespace, configured like the process stack to listen on 127.0.0.1 ports of their own:
Prometheus (it scrapes the service) and Toxiproxy (its proxies listen where tests and the service connect,
and forward to 127.0.0.1 upstreams). Jaeger, VictoriaLogs, PocketBase and the S3 store only receive
connections: they run on one bridge network per session, each port published on 127.0.0.1 of the host
at a port the engine picks (never 0.0.0.0). What each container runs: :mod:`obsconf.stack.container_specs`.

Cleanup. Every container and the network carry the owner's labels (:mod:`obsconf.stack.container_owner`).
They are removed when the stack stops, when a start fails, and by the next session when the owner is dead.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from obsconf.errors import BackendMissing, BackendNotReady, ObsconfError
from obsconf.ports import LOOPBACK, free_ports
from obsconf.settings import Settings
from obsconf.stack.addresses import build_endpoints, local_url
from obsconf.stack.container_images import choose_and_check_images
from obsconf.stack.container_owner import Owner, reap_orphan_containers
from obsconf.stack.container_specs import (
    JAEGER_PORTS,
    LOGS_PORT,
    OPTIONAL,
    PB_DATA,
    POCKETBASE_PORT,
    S3_PORT,
    ContainerSpec,
    HostPorts,
    container_specs,
    loopback_only,
    write_configs,
)
from obsconf.stack.endpoints import Endpoints
from obsconf.stack.engine import (
    API_VERSION,
    docker_client,
    docker_host,
    engine_available,
    engine_missing_message,
)
from obsconf.stack.handle import Stack
from obsconf.stack.pocketbase_admin import setup_container
from obsconf.stack.readiness import http_answers, http_ok, wait_ready

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer


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
            probe = http_answers(url) if spec.any_answer else http_ok(url)

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
    for mapping in mappings:
        if mapping.get("HostIp") in (LOOPBACK, "") and mapping.get("HostPort"):
            return int(mapping["HostPort"])
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
    for mount in spec.mounts:
        ctr.with_volume_mapping(mount.host, mount.container, mount.mode)
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


def start_container_stack(settings: Settings, progress: Callable[[str], None] = print,
                          needs: frozenset[str] = frozenset(OPTIONAL.values())) -> Stack:
    """Start every backend (optional ones only if ``needs`` names them) as a container; on any failure
    remove what was created, then raise."""
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
            spec.backend: make_container(spec, name=f"obsconf-{owner.session}-{spec.backend}", labels=labels,
                                         network=None if spec.host_network else network.name,
                                         timeout=settings.ready_timeout)
            for spec in container_specs(images, workdir, ports)
            if spec.backend not in OPTIONAL or OPTIONAL[spec.backend] in needs
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
            setup_container(containers["pocketbase"], endpoints.pocketbase_url, PB_DATA)
            timings["pocketbase setup"] = time.monotonic() - began
    except BaseException:
        stack.close()
        raise
    return Stack("container", endpoints, stack, workdir=workdir, prometheus=prometheus, timings=timings,
                 log_readers={backend: (lambda ctr=ctr: _full_log(ctr)) for backend, ctr in containers.items()})


def _full_log(container: DockerContainer) -> str:
    import docker

    try:
        return container.get_wrapped_container().logs().decode(errors="replace")
    except (docker.errors.DockerException, ObsconfError):
        return ""


def _endpoints(containers: Mapping[str, DockerContainer], ports: HostPorts, extra: dict[str, str]) -> Endpoints:
    def at(backend: str, port: int) -> str:
        return f"{LOOPBACK}:{published_port(containers[backend], port)}"

    urls = {"jaeger": f"http://{at('jaeger', JAEGER_PORTS.query_http)}",
            "otlp_http": f"http://{at('jaeger', JAEGER_PORTS.otlp_http)}",
            "otlp_grpc": at("jaeger", JAEGER_PORTS.otlp_grpc), "prometheus": local_url(ports.prometheus),
            "logs": f"http://{at('victoria-logs', LOGS_PORT)}", "toxiproxy": local_url(ports.toxiproxy)}
    for backend, name, port in (("pocketbase", "pocketbase", POCKETBASE_PORT), ("rclone", "s3", S3_PORT)):
        if backend in containers:
            urls[name] = f"http://{at(backend, port)}"
    return build_endpoints(urls, extra=extra)


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
        futures = [pool.submit(start, backend, ctr) for backend, ctr in containers.items()]
    errors = [future.exception() for future in futures if future.exception() is not None]
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
