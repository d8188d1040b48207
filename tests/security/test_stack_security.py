"""Hostile input on the real stack, and loopback-only proven by listing sockets.

The fuzz run is ``obsconf security``'s own (:func:`obsconf.fuzz.run.run_profile`) with fewer examples: every
sink is read back from the real backends (log store, PocketBase, Jaeger, Prometheus, /metrics, stdout,
rotated files, aurum's trace API) and must hold no canary; no 5xx from input; oversized headers, URLs and
bodies (sent over raw sockets to uvicorn) refused with 4xx; peak RSS recorded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from obsconf.fuzz.report import ProfileRun, render_json
from obsconf.fuzz.run import PROFILES, run_profile
from obsconf.netcheck import Listener, listeners, not_loopback, parse_proc_net, session_pids

pytestmark = [pytest.mark.slow, pytest.mark.stack]
EXAMPLES = 35  # per profile here; `obsconf security` defaults to 300


@pytest.fixture(scope="module")
def process_stack() -> Iterator[object]:
    from obsconf.settings import Settings
    from obsconf.stack import start_stack

    stack = start_stack(Settings.from_env(stack="process"), progress=lambda line: None)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ProfileRun]]:
    done: list[ProfileRun] = []
    yield done
    if done:  # the report of this run, for a person reading the test's output
        out = tmp_path_factory.mktemp("report") / "security.json"
        out.write_text(render_json(done, meta={"examples_per_profile": EXAMPLES}))
        print(f"\nsecurity report: {out}", file=sys.stderr)


@pytest.mark.parametrize("profile", PROFILES)
def test_no_canary_in_any_real_sink_and_no_5xx(profile: str, process_stack: object, runs: list[ProfileRun],
                                                tmp_path: Path) -> None:
    run = run_profile(process_stack, profile, tmp_path, examples=EXAMPLES, progress=lambda line: None)
    runs.append(run)
    assert run.problems() == [], run.problems()
    assert run.requests >= 20 and run.canaries > run.requests  # shared by the operations, at least 2 each
    for sink in ("log store", "jaeger", "prometheus", "metrics", "stdout"):
        assert run.sinks.get(sink, 0) > 0, f"{sink} was not read back: {run.sinks}"
    if profile == "syncd":
        assert run.sinks.get("pocketbase", 0) > 0 and run.sinks.get("file daemon.log", 0) > 0, run.sinks
    if profile == "aurum":
        assert run.sinks.get("trace api", 0) > 0, run.sinks
    assert set(run.oversize.values()) <= {413, 414, 431}, run.oversize
    assert run.peak_rss_mb is not None and run.peak_rss_mb > 0


def test_every_listening_socket_of_the_stack_and_services_is_loopback(process_stack: object, tmp_path: Path) -> None:
    """Backends, Toxiproxy's proxies and a reference service with every sink: nothing but 127.0.0.1/::1."""
    from obsconf.contract.loader import default_contract_paths, load_contract
    from obsconf.ports import free_port
    from obsconf.target import plan_target, start_target

    contract = load_contract(next(p for p in default_contract_paths() if p.name == "persist.yaml"))
    extra_metrics = free_port()  # persist's second /metrics server (PERSIST_METRICS_PORT)
    target = start_target(contract, process_stack, plan_target(contract), log_dir=tmp_path,
                          env={"PERSIST_METRICS_PORT": str(extra_metrics)})
    try:
        found = listeners(session_pids(os.getpid()))
    finally:
        target.stop()
    assert extra_metrics in {x.port for x in found}, "persist's extra metrics server"
    names = {x.process for x in found}
    assert {"jaeger", "prometheus", "victoria-logs", "pocketbase", "rclone"} <= names, found
    assert any(x.port == int(target.base_url.rsplit(":", 1)[1]) for x in found), "the reference service's socket"
    proxy_ports = {int(p.listen.rsplit(":", 1)[1]) for p in target.proxies.values()}
    assert proxy_ports <= {x.port for x in found}, "Toxiproxy's proxy listeners"
    assert not_loopback(found) == [], [str(x) for x in not_loopback(found)]


def test_a_wildcard_bind_is_caught(tmp_path: Path) -> None:
    """The proof, without binding anything beyond loopback here: a /proc of a process that listens on
    0.0.0.0:8080 and [::]:8443 and 127.0.0.1:9090."""
    pid = tmp_path / "4242"
    (pid / "fd").mkdir(parents=True)
    (pid / "net").mkdir()
    (pid / "comm").write_text("rogue\n")
    for fd, inode in (("3", 1001), ("4", 1002), ("5", 1003)):
        os.symlink(f"socket:[{inode}]", pid / "fd" / fd)
    head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    (pid / "net" / "tcp").write_text(
        head + "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001\n"
        + "   1: 0100007F:2382 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1003\n")
    (pid / "net" / "tcp6").write_text(
        head + "   0: 00000000000000000000000000000000:20FB 00000000000000000000000000000000:0000 0A "
        "00000000:00000000 00:00000000 00000000     0        0 1002\n")
    found = listeners([4242], proc=tmp_path)
    assert sorted(str(x) for x in not_loopback(found)) == ["rogue (pid 4242) tcp 0.0.0.0:8080",
                                                           "rogue (pid 4242) tcp6 [::]:8443"]
    assert [x.port for x in found if x.loopback] == [9090]


def test_proc_net_parsing() -> None:
    text = ("  sl  local_address rem_address   st\n"
            "   0: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 77\n"
            "   1: 0100007F:0051 0100007F:1234 01 00000000:00000000 00:00000000 00000000 0 0 78\n")
    assert parse_proc_net(text, "tcp") == [("127.0.0.1", 80, 77)]
    six = ("x\n   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A "
           "00000000:00000000 00:00000000 00000000 0 0 5\n")
    assert parse_proc_net(six, "tcp6") == [("::1", 80, 5)]
    assert Listener("tcp6", "::ffff:127.0.0.1", 1, 1, "x").loopback
