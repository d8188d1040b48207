"""Loopback only, container stack: every port a backend container publishes is bound to 127.0.0.1 on the
host, the host-network containers (Prometheus, Toxiproxy) listen on 127.0.0.1 only, and nothing on the host
listens on a published port beyond loopback.

FAILS (never skips) when no engine answers: `eval "$(bash scripts/setup-podman)"` and `obsconf images build`
first, or deselect with -m "not container"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from obsconf.netcheck import container_bindings, host_listeners, listeners, not_loopback

pytestmark = [pytest.mark.container, pytest.mark.slow, pytest.mark.stack]


@pytest.fixture(scope="module")
def container_stack() -> Iterator[object]:
    from obsconf.errors import ObsconfError
    from obsconf.settings import Settings
    from obsconf.stack import start_stack

    try:
        stack = start_stack(Settings.from_env(stack="container"), progress=lambda line: None)
    except ObsconfError as exc:
        pytest.fail(f"the container stack did not start: {exc}", pytrace=False)
    try:
        yield stack
    finally:
        stack.stop()


def test_every_container_port_and_listener_is_loopback(container_stack: object) -> None:
    from obsconf.stack.container_owner import LABEL_SESSION
    from obsconf.stack.engine import docker_client

    session = container_stack.endpoints.extra["container_session"]  # type: ignore[attr-defined]
    client = docker_client()
    try:
        containers = client.containers.list(filters={"label": f"{LABEL_SESSION}={session}"})
        assert len(containers) >= 6, [c.name for c in containers]
        published: list[str] = []
        host_network_pids: list[int] = []
        for ctr in containers:
            attrs = ctr.attrs
            published += container_bindings(attrs)
            if attrs["HostConfig"].get("NetworkMode") == "host":
                host_network_pids.append(int(attrs["State"]["Pid"]))
    finally:
        client.close()
    assert published and all(b.startswith("127.0.0.1:") for b in published), published
    assert len(host_network_pids) == 2  # Prometheus and Toxiproxy share the host's network namespace
    found = listeners(host_network_pids)
    assert found and not_loopback(found) == [], [str(x) for x in found]
    forwarded = host_listeners(int(b.rsplit(":", 1)[1]) for b in published)
    assert not_loopback(forwarded) == [], [str(x) for x in forwarded]
