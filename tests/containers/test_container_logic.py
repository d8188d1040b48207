"""Container stack logic without an engine: ownership labels and the reaper, the networking rules of each
backend container, image choice and the local image recipe."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from obsconf.errors import BackendMissing, UsageError
from obsconf.images import LOCAL_PREFIX, build_context, choose_images, containerfile, image_specs
from obsconf.ports import LOOPBACK
from obsconf.settings import IMAGE_BACKENDS, Settings
from obsconf.stack.container import make_container
from obsconf.stack.container_owner import (
    LABEL_OWNER_HOST,
    LABEL_OWNER_PID,
    LABEL_OWNER_START,
    LABEL_SESSION,
    LABEL_WORKDIR,
    Owner,
    owner_is_dead,
    process_start_time,
    reap_orphan_containers,
)
from obsconf.stack.container_specs import HostPorts, container_specs, loopback_only, write_configs
from obsconf.stack.engine import engine_available, engine_missing_message

HOST = socket.gethostname()


# --- ownership labels ----------------------------------------------------------------------------------


def test_owner_labels_name_session_pid_host_and_start_time(tmp_path: Path) -> None:
    labels = Owner.current("abc123").labels(tmp_path)
    assert labels[LABEL_SESSION] == "abc123"
    assert labels[LABEL_OWNER_PID] == str(os.getpid())
    assert labels[LABEL_OWNER_HOST] == HOST
    assert labels[LABEL_OWNER_START] == process_start_time(os.getpid())
    assert labels[LABEL_WORKDIR] == str(tmp_path)


def test_a_live_owner_is_not_dead() -> None:
    assert not owner_is_dead(Owner.current("s").labels(), host=HOST)


def test_an_exited_owner_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    labels = {LABEL_OWNER_HOST: HOST, LABEL_OWNER_PID: str(child.pid), LABEL_OWNER_START: "1"}
    assert owner_is_dead(labels, host=HOST)


def test_a_reused_pid_does_not_keep_a_dead_owner_alive() -> None:
    labels = {**Owner.current("s").labels(), LABEL_OWNER_START: "12345"}  # same pid, another start time
    assert owner_is_dead(labels, host=HOST)


def test_owners_on_another_host_are_never_judged() -> None:
    labels = {LABEL_OWNER_HOST: "some-other-host", LABEL_OWNER_PID: "999999999", LABEL_OWNER_START: "1"}
    assert not owner_is_dead(labels, host=HOST)


def test_unreadable_owner_pid_counts_as_dead() -> None:
    assert owner_is_dead({LABEL_OWNER_HOST: HOST, LABEL_OWNER_PID: "x"}, host=HOST)


# --- the reaper, on an in-memory engine ---------------------------------------------------------------


@dataclass
class _Thing:
    name: str
    labels: dict[str, str]
    removed: list[str] = field(default_factory=list)

    @property
    def attrs(self) -> dict[str, Any]:
        return {"Labels": self.labels}

    def remove(self, **kwargs: Any) -> None:
        self.removed.append(self.name)


class _Listing:
    def __init__(self, items: list[_Thing]) -> None:
        self.items = items

    def list(self, **kwargs: Any) -> list[_Thing]:
        assert kwargs["filters"] == {"label": LABEL_SESSION}  # only obsconf's own objects are considered
        return self.items


class _Engine:
    def __init__(self, containers: list[_Thing], networks: list[_Thing]) -> None:
        self.containers = _Listing(containers)
        self.networks = _Listing(networks)


def test_reaper_removes_only_what_dead_owners_left() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="obsconf-ctr-test-"))
    dead = {LABEL_SESSION: "dead1", LABEL_OWNER_HOST: HOST, LABEL_OWNER_PID: "999999999", LABEL_OWNER_START: "1",
            LABEL_WORKDIR: str(workdir)}
    alive = Owner.current("alive1").labels()
    foreign = {LABEL_SESSION: "far1", LABEL_OWNER_HOST: "elsewhere", LABEL_OWNER_PID: "999999999"}
    removed: list[str] = []
    containers = [_Thing("dead-jaeger", dead, removed), _Thing("live-jaeger", alive, removed),
                  _Thing("far-jaeger", foreign, removed)]
    networks = [_Thing("net-dead", dead, removed), _Thing("net-live", alive, removed),
                _Thing("net-far", foreign, removed)]
    try:
        reaped = reap_orphan_containers(_Engine(containers, networks), host=HOST)  # type: ignore[arg-type]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert removed == ["dead-jaeger", "net-dead"]
    assert reaped == ["container dead-jaeger", "network net-dead"]
    assert not workdir.exists()


def test_reaper_never_deletes_a_workdir_it_did_not_make(tmp_path: Path) -> None:
    keep = tmp_path / "precious"
    keep.mkdir()
    labels = {LABEL_SESSION: "d", LABEL_OWNER_HOST: HOST, LABEL_OWNER_PID: "999999999", LABEL_WORKDIR: str(keep)}
    reap_orphan_containers(_Engine([_Thing("c", labels)], []), host=HOST)  # type: ignore[arg-type]
    assert keep.exists()


# --- networking rules of the backend containers --------------------------------------------------------


def _specs(tmp_path: Path) -> dict[str, Any]:
    images = {name: f"img/{name}:1" for name in IMAGE_BACKENDS}
    return {s.backend: s for s in container_specs(images, tmp_path, HostPorts(prometheus=19090, toxiproxy=18474))}


def test_every_backend_has_one_container(tmp_path: Path) -> None:
    assert sorted(_specs(tmp_path)) == sorted(IMAGE_BACKENDS)


def test_backends_that_connect_to_host_loopback_use_the_host_network_and_bind_loopback(tmp_path: Path) -> None:
    specs = _specs(tmp_path)
    assert {b for b, s in specs.items() if s.host_network} == {"prometheus", "toxiproxy"}
    assert f"--web.listen-address={LOOPBACK}:19090" in specs["prometheus"].command
    assert specs["toxiproxy"].command == ("-host", LOOPBACK, "-port", "18474")
    for spec in specs.values():
        if spec.host_network:
            assert spec.publish == (), f"{spec.backend}: nothing to publish in the host network"
            assert not any("0.0.0.0" in arg for arg in spec.command), spec.command


def test_bridged_backends_publish_their_ready_port(tmp_path: Path) -> None:
    for spec in _specs(tmp_path).values():
        if not spec.host_network:
            assert spec.ready_port in spec.publish, spec.backend


def test_prometheus_sees_its_config_at_the_host_path(tmp_path: Path) -> None:
    spec = _specs(tmp_path)["prometheus"]
    assert [(m.host, m.container, m.mode) for m in spec.mounts] == [(str(tmp_path), str(tmp_path), "ro")]
    assert f"--config.file={tmp_path / 'prometheus.yml'}" in spec.command


def test_published_ports_are_bound_to_loopback_in_the_create_call(tmp_path: Path) -> None:
    from docker.utils import convert_port_bindings

    spec = _specs(tmp_path)["jaeger"]
    ctr = make_container(spec, name="obsconf-x-jaeger", labels={"obsconf.session": "x"}, network="net-x", timeout=1)
    bindings = convert_port_bindings(ctr.ports)
    assert set(bindings) == {f"{p}/tcp" for p in spec.publish}
    assert loopback_only(bindings) == []
    assert all(b["HostPort"] == "" for binds in bindings.values() for b in binds)  # the engine picks a port
    assert ctr._kwargs["labels"] == {"obsconf.session": "x"}
    assert ctr._kwargs["network"] == "net-x"


def test_host_network_containers_are_created_in_the_host_network(tmp_path: Path) -> None:
    ctr = make_container(_specs(tmp_path)["prometheus"], name="p", labels={}, network="net-x", timeout=1)
    assert ctr._kwargs["network_mode"] == ctr._kwargs["network"] == "host"
    assert ctr.ports == {}


def test_loopback_guard_flags_any_other_interface() -> None:
    bindings = {"4318/tcp": [{"HostIp": "127.0.0.1", "HostPort": "1"}], "9428/tcp": [{"HostIp": "", "HostPort": "2"}],
                "8090/tcp": [{"HostIp": "0.0.0.0", "HostPort": "3"}]}
    assert loopback_only(bindings) == ["9428/tcp -> 0.0.0.0:2", "8090/tcp -> 0.0.0.0:3"]


def test_container_configs_are_readable_by_non_root_images(tmp_path: Path) -> None:
    workdir = tmp_path / "w"
    workdir.mkdir(mode=0o700)
    write_configs(workdir)
    assert workdir.stat().st_mode & 0o777 == 0o755
    jaeger = (workdir / "jaeger.yaml").read_text()
    assert '"0.0.0.0:4318"' in jaeger and '"0.0.0.0:16686"' in jaeger
    assert (workdir / "s3" / "obsconf-snapshots").is_dir()


# --- the engine probe and its error --------------------------------------------------------------------


def test_engine_probe_is_false_when_nothing_answers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    assert engine_available() is False
    message = engine_missing_message()
    assert f"unix://{tmp_path}/no-engine.sock" in message
    assert "bash scripts/setup-podman" in message and "--obsconf-stack=process" in message


def test_auto_mode_falls_back_to_processes_without_an_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from obsconf.stack import resolve_mode

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    mode, why = resolve_mode("auto")
    assert mode == "process" and "setup-podman" in why


# --- which image each backend runs ---------------------------------------------------------------------


def test_image_settings_come_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBSCONF_IMAGE_VICTORIA_LOGS", "my/vl:1")
    monkeypatch.setenv("OBSCONF_IMAGES", "official")
    settings = Settings.from_env()
    assert settings.images == {"victoria-logs": "my/vl:1"}
    assert settings.image_source == "official"


def test_auto_prefers_local_images_and_falls_back_to_official() -> None:
    specs = image_specs()
    local = {specs["jaeger"].local}
    chosen = choose_images(Settings(image_source="auto"), lambda ref: ref in local)
    assert chosen["jaeger"].ref == specs["jaeger"].local and chosen["jaeger"].why == "local"
    assert chosen["prometheus"].ref == "prom/prometheus:v3.16.0" and chosen["prometheus"].why == "official"


@pytest.mark.parametrize("version, official, local", [
    ("3.16", "prom/prometheus:v3.16.0", f"{LOCAL_PREFIX}prometheus:3.16.0"),
    ("2.42", "prom/prometheus:v2.42.0", f"{LOCAL_PREFIX}prometheus:2.42.0"),
])
def test_the_prometheus_image_follows_the_selected_release(version: str, official: str, local: str) -> None:
    settings = Settings(prometheus_version=version)
    assert choose_images(settings, lambda ref: False)["prometheus"].ref == official
    assert choose_images(settings, lambda ref: True)["prometheus"].ref == local
    with pytest.raises(UsageError, match=r"OBSCONF_PROMETHEUS_VERSION='9\.9'.*3\.16, 2\.42"):
        choose_images(Settings(prometheus_version="9.9"), lambda ref: False)


def test_an_explicit_image_wins_over_the_source() -> None:
    chosen = choose_images(Settings(images={"jaeger": "mine/jaeger:9"}, image_source="local"), lambda ref: True)
    assert chosen["jaeger"].ref == "mine/jaeger:9"
    assert chosen["jaeger"].why == "OBSCONF_IMAGE_JAEGER"


def test_official_source_ignores_local_images() -> None:
    chosen = choose_images(Settings(image_source="official"), lambda ref: True)
    assert chosen["jaeger"].ref == "jaegertracing/jaeger:2.13.0"
    assert chosen["pocketbase"].ref == f"{LOCAL_PREFIX}pocketbase:0.40.6"  # PocketBase has no official image


def test_another_local_tag_is_used_when_the_pinned_one_is_absent() -> None:
    tags = ["2.42.1", "3.16.1"]
    chosen = choose_images(Settings(), lambda ref: False, lambda repo: tags if repo.endswith("/prometheus") else [])
    assert chosen["prometheus"].ref == f"{LOCAL_PREFIX}prometheus:3.16.1"
    chosen = choose_images(Settings(prometheus_version="2.42"), lambda ref: False,
                           lambda repo: tags if repo.endswith("/prometheus") else [])
    assert chosen["prometheus"].ref == f"{LOCAL_PREFIX}prometheus:2.42.1"


def test_a_local_image_of_the_other_prometheus_release_never_stands_in() -> None:
    chosen = choose_images(Settings(), lambda ref: False,
                           lambda repo: ["2.42.0"] if repo.endswith("/prometheus") else [])
    assert chosen["prometheus"].ref == "prom/prometheus:v3.16.0" and chosen["prometheus"].why == "official"


def test_local_source_without_local_images_says_how_to_build() -> None:
    with pytest.raises(BackendMissing, match="obsconf images build"):
        choose_images(Settings(image_source="local"), lambda ref: False)


@pytest.mark.parametrize("settings, problem", [
    (Settings(image_source="newest"), "OBSCONF_IMAGES='newest'"),
    (Settings(images={"loki": "grafana/loki:3"}), "unknown backend(s) loki"),
])
def test_bad_image_settings_are_refused(settings: Settings, problem: str) -> None:
    with pytest.raises(UsageError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        choose_images(settings, lambda ref: False)


# --- the local image recipe ----------------------------------------------------------------------------


def test_local_images_copy_the_official_layout() -> None:
    specs = image_specs()
    jaeger = containerfile(specs["jaeger"], "1.76.0")
    assert jaeger.startswith("FROM scratch\n")
    assert 'ENTRYPOINT ["/cmd/jaeger/jaeger-linux"]' in jaeger and "USER 10001:10001" in jaeger
    prometheus = containerfile(specs["prometheus"], "2.42.0")
    assert "COPY --chown=65534:65534 owned/ /" in prometheus and "WORKDIR /prometheus" in prometheus
    assert specs["pocketbase"].local == f"{LOCAL_PREFIX}pocketbase:0.40.6"


def test_the_prometheus_3_build_is_static_and_goes_from_scratch_alone(tmp_path: Path) -> None:
    from obsconf import provision

    binary = provision.binary(Settings.from_env(prometheus_version="3.16"), "prometheus")  # fails: provision
    build_context(image_specs("3.16")["prometheus"], binary, "3.16.0", tmp_path)
    rootfs = tmp_path / "rootfs"
    assert (rootfs / "bin/prometheus").stat().st_mode & 0o111
    assert not [p.name for p in rootfs.rglob("*.so*")]  # CGO_ENABLED=0: no loader, no libc
    assert 'ENTRYPOINT ["/bin/prometheus"]' in (tmp_path / "Containerfile").read_text()


def test_a_dynamically_linked_binary_gets_its_loader_and_libc(tmp_path: Path) -> None:
    binary = Path(shutil.which("true") or "/bin/true")
    build_context(image_specs()["prometheus"], binary, "2.42.0", tmp_path)
    rootfs = tmp_path / "rootfs"
    assert (rootfs / "bin/prometheus").stat().st_mode & 0o111
    libs = [p.name for p in rootfs.rglob("*.so*")]
    assert any(name.startswith("ld-linux") for name in libs), libs
    assert "libc.so.6" in libs
    assert (tmp_path / "owned/prometheus").is_dir() and not (rootfs / "prometheus").exists()
    assert (rootfs / "tmp").stat().st_mode & 0o1777 == 0o1777
