"""What each backend container runs: image, command, ports, mounts and readiness; pure, so the networking
rules are unit-tested. Prometheus and Toxiproxy run in the host's network namespace (they connect to the
service on host loopback); the others publish their ports on 127.0.0.1 only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsconf.loopback import is_loopback
from obsconf.ports import LOOPBACK
from obsconf.stack.jaeger import JaegerPorts, jaeger_config
from obsconf.stack.objectstore import ACCESS_KEY, BUCKETS, SECRET_KEY

# Fixed ports inside the containers on the session network (published on random 127.0.0.1 host ports).
JAEGER_PORTS = JaegerPorts(otlp_grpc=4317, otlp_http=4318, query_http=16686, query_grpc=16685, health=13133)
LOGS_PORT = 9428
POCKETBASE_PORT = 8090
S3_PORT = 8080
PB_DATA = "/pb_data"

#: container backend -> the optional stack component it is (others always run)
OPTIONAL = {"pocketbase": "pocketbase", "rclone": "s3"}


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
