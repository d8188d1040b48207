"""A table of bad input, one test per row, for the loader, settings, CLI, stack and target layers: each ends in
one :class:`~obsconf.errors.ObsconfError` (or, on the command line, exit status 2 and one line on stderr)
whose message names the file, field, variable or URL and the fix - never a traceback.

The pytest collection side (an empty contracts directory, a target probed before the stack starts) is the
plugin's and is tested with it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from obsconf.contract.loader import load_contract
from obsconf.errors import ObsconfError
from obsconf.ports import LOOPBACK

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "fixtures" / "contracts"
MINIMAL = "version: 1\nseed: s.txt\nservice: {name: svc, profile: persist}\n"


@dataclass(frozen=True)
class Row:
    id: str
    run: Callable[[Path], object]  # raises the error under test
    expect: tuple[str, ...]  # fragments the message must contain


def _contract(text: str) -> Callable[[Path], object]:
    def run(tmp: Path) -> object:
        path = tmp / "bad.yaml"
        path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
        return load_contract(path)

    return run


def _settings(**env: str) -> Callable[[Path], object]:
    def run(tmp: Path) -> object:
        from obsconf.settings import Settings

        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            return Settings.from_env()
        finally:
            for k, v in old.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)

    return run


def _reference(**env: str) -> Callable[[Path], object]:
    def run(tmp: Path) -> object:
        from obsconf.reference.config import ReferenceConfig

        return ReferenceConfig.from_env("persist", env)

    return run


LOADER_AND_SETTINGS = [
    Row("yaml-syntax", _contract("version: 1\nseed: [unclosed\n"), ("bad.yaml:", "YAML syntax error")),
    Row("empty-file", _contract(""), ("bad.yaml", "the file is empty")),
    Row("not-a-mapping", _contract("- a\n- b\n"), ("a contract is a mapping", "a list")),
    Row("not-utf8", _contract(b"version: 1\nseed: \xff\xfe\n"), ("not UTF-8",)),
    Row("wrong-type", _contract(MINIMAL.replace("profile: persist", "profile: [persist]")),
        ("service.profile", "is not allowed here")),
    Row("wrong-type-number", _contract(MINIMAL + "workload: [{request: {method: GET, path: /x, repeat: many}}]\n"),
        ("workload[0].request.repeat", "expected an integer", "'many'")),
    Row("unknown-key", _contract(MINIMAL + "tokens: 3\n"), ("unknown section 'tokens'", "allowed sections")),
    Row("unknown-nested-key", _contract(MINIMAL.replace("profile: persist", "profile: persist, color: red")),
        ("service.color", "unknown key 'color'")),
    Row("missing-rules-file", _contract(MINIMAL + "alerts: {rules_file: nowhere.rules.yml, rules: [{name: A}]}\n"),
        ("alerts.rules_file", "nowhere.rules.yml", "does not exist")),
    Row("bad-regex", _contract(MINIMAL + "logs: {format: json, redaction: {patterns: ['(unclosed']}}\n"),
        ("logs.redaction.patterns[0]", "bad regular expression")),
    Row("missing-contract", lambda tmp: load_contract(tmp / "absent.yaml"), ("absent.yaml", "cannot read")),
    Row("env-ready-timeout", _settings(OBSCONF_READY_TIMEOUT="abc"),
        ("OBSCONF_READY_TIMEOUT='abc'", "e.g. OBSCONF_READY_TIMEOUT=30")),
    Row("env-ready-timeout-negative", _settings(OBSCONF_READY_TIMEOUT="-5"), ("OBSCONF_READY_TIMEOUT", ">= 0.1")),
    Row("env-ready-timeout-nan", _settings(OBSCONF_READY_TIMEOUT="nan"), ("OBSCONF_READY_TIMEOUT", "finite")),
    Row("env-stack", _settings(OBSCONF_STACK="kubernetes"), ("OBSCONF_STACK='kubernetes'", "one of auto, process")),
    Row("env-images", _settings(OBSCONF_IMAGES="latest"), ("OBSCONF_IMAGES='latest'", "e.g. OBSCONF_IMAGES=auto")),
    Row("env-loki-dialect", _settings(OBSCONF_LOKI_URL="http://127.0.0.1:1", OBSCONF_LOKI_DIALECT="sql"),
        ("OBSCONF_LOKI_DIALECT='sql'", "logql, logsql")),
    Row("env-batch-size", _reference(OBSCONF_LOGS_BATCH_SIZE="lots"),
        ("OBSCONF_LOGS_BATCH_SIZE='lots'", "e.g. OBSCONF_LOGS_BATCH_SIZE=100")),
    Row("env-sample-rate", _reference(OBSCONF_TRACE_SAMPLE_RATE="2"), ("OBSCONF_TRACE_SAMPLE_RATE", "<= 1")),
    Row("env-instrumentation", _reference(OBSCONF_INSTRUMENTATION="maybe"),
        ("OBSCONF_INSTRUMENTATION='maybe'", "e.g. OBSCONF_INSTRUMENTATION=on")),
    Row("env-console", _reference(OBSCONF_CONSOLE_LOGS="perhaps"), ("OBSCONF_CONSOLE_LOGS='perhaps'", "true/false")),
    Row("env-body-limit", _reference(OBSCONF_MAX_BODY_BYTES="4MB"), ("OBSCONF_MAX_BODY_BYTES='4MB'", "e.g.")),
    Row("env-pocketbase-admin", _reference(OBSCONF_POCKETBASE_ADMIN="admin"), ("OBSCONF_POCKETBASE_ADMIN", "no ':'")),
    Row("env-remote-sink", _reference(OBSCONF_OTLP_HTTP_URL="http://10.1.2.3:4318"),
        ("OBSCONF_OTLP_HTTP_URL", "not at this machine", "OBSCONF_ALLOW_REMOTE_SINKS")),
]


@pytest.mark.parametrize("row", LOADER_AND_SETTINGS, ids=[r.id for r in LOADER_AND_SETTINGS])
def test_loader_and_settings_refuse_bad_input_with_a_clear_error(row: Row, tmp_path: Path) -> None:
    with pytest.raises(ObsconfError) as exc:
        row.run(tmp_path)
    message = str(exc.value)
    for fragment in row.expect:
        assert fragment in message, message
    assert "\n" not in message and "Traceback" not in message


# ---- the command line: exit status 2, one line, no traceback ------------------------------------------------


def _cli(args: list[str], env: dict[str, str] | None = None, pre: str = "") -> subprocess.CompletedProcess[str]:
    code = f"import sys\n{pre}\nfrom obsconf.cli import main\nsys.exit(main({args!r}))"
    child = {k: v for k, v in os.environ.items() if not k.startswith("OBSCONF_")}
    child.update({"OBSCONF_CONSOLE_LOGS": "off", **(env or {})})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=child,
                          check=False)


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen()
        yield sock.getsockname()[1]


CLI = [
    ("ready-timeout", ["stack", "up"], {"OBSCONF_READY_TIMEOUT": "abc"}, "", "OBSCONF_READY_TIMEOUT='abc'"),
    ("stack-mode", ["stack", "up"], {"OBSCONF_STACK": "bogus"}, "", "OBSCONF_STACK='bogus'"),
    ("reference-env", ["reference", "serve", "--profile", "syncd", "--port", "0"], {"OBSCONF_LOGS_MAX_RETRIES": "x"},
     "", "OBSCONF_LOGS_MAX_RETRIES='x'"),
    ("missing-package", ["security", "--examples", "1"], {}, "sys.modules['hypothesis'] = None",
     "obsconf security needs the Python package 'hypothesis'"),
    ("security-examples", ["security", "--examples", "0"], {}, "", "--examples 0"),
    ("security-profile", ["security", "--profiles", "nope"], {}, "", "--profiles: unknown nope"),
]


@pytest.mark.parametrize(("args", "env", "pre", "expect"), [c[1:] for c in CLI], ids=[c[0] for c in CLI])
def test_cli_reports_bad_input_in_one_line(args: list[str], env: dict[str, str], pre: str, expect: str) -> None:
    done = _cli(args, env, pre)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expect in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_cli_port_in_use(busy_port: int) -> None:
    done = _cli(["reference", "serve", "--profile", "persist", "--port", str(busy_port)])
    assert done.returncode == 2 and f"127.0.0.1:{busy_port} is already in use" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_command_whose_package_is_missing_is_still_listed() -> None:
    done = _cli(["--help"], pre="sys.modules['hypothesis'] = None")
    assert done.returncode == 0 and "security" in done.stdout
    assert "pip install 'obsconf[security]'" in _cli(["security"], pre="sys.modules['hypothesis'] = None").stderr


# ---- the stack: a backend binary that exits at once, a backend that dies mid-run ------------------------------


def test_a_backend_that_exits_at_once_is_named_with_its_log(tmp_path: Path) -> None:
    from obsconf.errors import BackendNotReady
    from obsconf.stack.process import ManagedProcess, _alive
    from obsconf.stack.readiness import http_ok

    proc = ManagedProcess("jaeger", ["/bin/sh", "-c", "echo 'error: bad config key foo' >&2; exit 3"],
                          log_path=tmp_path / "jaeger.log", probe=http_ok(f"http://{LOOPBACK}:9/"), ready_timeout=10)
    with pytest.raises(BackendNotReady) as exc:
        proc.start()
    assert "jaeger exited before it was ready: exit code 3" in str(exc.value)
    assert "bad config key foo" in str(exc.value) and str(tmp_path / "jaeger.log") in str(exc.value)
    assert not _alive(proc.pid)


def test_the_stack_stops_what_started_when_a_backend_binary_exits(tmp_path: Path) -> None:
    """A stack whose Prometheus binary exits at once: BackendNotReady naming it, and no process left."""
    from obsconf import provision
    from obsconf.errors import BackendNotReady
    from obsconf.netcheck import session_pids
    from obsconf.settings import Settings
    from obsconf.stack import start_stack

    real = Settings.from_env()
    cache = tmp_path / "cache"
    for build in provision.GO_BUILDS:
        target = build.binary(Settings(cache_dir=cache))
        target.parent.mkdir(parents=True)
        target.symlink_to(build.binary(real))
    fake = tmp_path / "prometheus"
    fake.write_text("#!/bin/sh\necho 'prometheus: flag provided but not defined' >&2\nexit 2\n")
    fake.chmod(0o755)
    before = set(session_pids(os.getpid()))
    original = provision.binary
    provision.binary = lambda settings, name: fake if name == "prometheus" else original(settings, name)  # type: ignore[assignment]
    try:
        with pytest.raises(BackendNotReady) as exc:
            start_stack(Settings(cache_dir=cache, stack="process", ready_timeout=10), progress=lambda line: None)
    finally:
        provision.binary = original  # type: ignore[assignment]
    assert "prometheus exited before it was ready: exit code 2" in str(exc.value)
    assert "flag provided but not defined" in str(exc.value)
    from obsconf.stack.process import _alive

    assert [p for p in set(session_pids(os.getpid())) - before if _alive(p)] == [], "orphans left behind"


@pytest.fixture(scope="module")
def doomed_stack() -> Iterator[object]:
    from obsconf.settings import Settings
    from obsconf.stack import start_stack

    stack = start_stack(Settings.from_env(stack="process"), progress=lambda line: None)
    try:
        yield stack
    finally:
        stack.stop()


def _kill(name: str) -> None:
    import signal

    from obsconf.netcheck import session_pids

    for pid in session_pids(os.getpid()):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm == name:
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.stack
@pytest.mark.parametrize(("backend", "process", "log_key"), [
    ("log store", "victoria-logs", "logs"), ("Prometheus", "prometheus", "prometheus"),
    ("Jaeger", "jaeger", "jaeger"), ("PocketBase", "pocketbase", "pocketbase")])
def test_a_backend_that_dies_mid_run_is_named_with_its_log_file(doomed_stack: object, backend: str, process: str,
                                                                 log_key: str) -> None:
    import time

    from obsconf.errors import BackendUnavailable
    from obsconf.readers._http import log_file_of
    from obsconf.readers.jaeger import JaegerReader
    from obsconf.readers.logs import LogReader
    from obsconf.readers.prometheus import PrometheusReader

    e = doomed_stack.endpoints  # type: ignore[attr-defined]
    log = log_file_of(doomed_stack, log_key)
    read = {"log store": lambda: LogReader(e.logs_query_url, e.logs_dialect, log_file=log).lines({"service": "x"}),
            "Prometheus": lambda: PrometheusReader(e.prometheus_url, log_file=log).query("up"),
            "Jaeger": lambda: JaegerReader(e.jaeger_query_url, log_file=log).services(),
            "PocketBase": lambda: doomed_stack.pocketbase().records("_superusers")}[backend]  # type: ignore[attr-defined]
    read()  # it answers while alive
    _kill(process)
    time.sleep(0.3)
    with pytest.raises(BackendUnavailable) as exc:
        read()
    message = str(exc.value)
    assert backend in message and "stopped answering" in message and str(log) in message, message
    assert log is not None and log.exists()


# ---- the target: answers 500 to everything, or hangs ------------------------------------------------------------


class _Always500(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(500)
        self.end_headers()
        self.wfile.write(b"internal error")

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass  # quiet


@pytest.fixture
def failing_target() -> Iterator[str]:
    server = ThreadingHTTPServer((LOOPBACK, 0), _Always500)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOOPBACK}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def hanging_target() -> Iterator[str]:
    """Accepts connections (the kernel does, into the backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen(16)
        yield f"http://{LOOPBACK}:{sock.getsockname()[1]}"


def test_a_target_answering_500_to_everything_fails_with_its_url(failing_target: str) -> None:
    from obsconf.checks.http import check_expected_status
    from obsconf.errors import TargetUnreachable
    from obsconf.readers.metrics_text import scrape
    from obsconf.workload.run import run_workload

    contract = load_contract(CONTRACTS / "persist.yaml")
    exchanges = run_workload(failing_target, contract.workload, variables={"run_id": "x"})
    findings = check_expected_status(contract.workload, exchanges)
    assert findings and all("answered 500" in f.message for f in findings)
    with pytest.raises(TargetUnreachable, match=f"scraping {failing_target}/metrics answered 500"):
        scrape(failing_target + "/metrics")


def test_a_target_that_hangs_fails_with_its_url_and_the_time_waited(hanging_target: str) -> None:
    from obsconf.contract.model import RequestStep
    from obsconf.errors import TargetUnreachable
    from obsconf.readers.metrics_text import scrape
    from obsconf.workload.run import run_workload

    with pytest.raises(TargetUnreachable, match=r"did not answer within 1 s"):
        run_workload(hanging_target, [RequestStep("GET", "/api/ok")], timeout=1.0)
    with pytest.raises(TargetUnreachable, match=f"cannot scrape {hanging_target}/metrics"):
        scrape(hanging_target + "/metrics", timeout=1.0)
