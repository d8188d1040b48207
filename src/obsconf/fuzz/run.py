"""``obsconf security``: hostile input against each reference profile on the real stack; writes
``reports/security.json``.

Per profile: start the reference service wired straight to the stack (stdout and stderr to files of their
own, syncd's log file rotating every 50 KB), have Prometheus scrape it, send ``--examples`` hostile
requests built by hypothesis from its ``/openapi.json`` (a fixed seed, so runs repeat), probe the limits
with oversized headers, URLs and bodies over raw sockets, then read back every sink and scan it for every
canary. Also recorded: status codes, unexpected 5xx, and the service's RSS at start and at its peak
(``VmHWM``). Exit status 1 when a canary reached a sink, a 5xx was not by design, or an oversized request
was not refused with 4xx.
"""

from __future__ import annotations

import argparse
import random
import shlex
import socket
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import requests

from obsconf.errors import ObsconfError
from obsconf.fuzz.canary import CanaryBook, scan_all
from obsconf.fuzz.execute import Outcome, send_http
from obsconf.fuzz.inputs import materialize, operations, plans
from obsconf.fuzz.report import ProfileRun, render_json
from obsconf.fuzz.sinks import SinkSources, read_all
from obsconf.ports import LOOPBACK, free_port

PROFILES = ("persist", "syncd", "aurum", "prethrift", "assistant")
DEFAULT_EXAMPLES = 300
#: What each profile's service needs for the run: every request traced, fast log shipping, syncd's file
#: rotating often (so rotated files are scanned too).
PROFILE_ENV: dict[str, dict[str, str]] = {
    "persist": {},
    "syncd": {"SYNCD_LOG_ROTATION_MAX_SIZE_MB": "0.05", "SYNCD_LOG_ROTATION_KEEP_FILES": "1000",
              "SYNCD_POCKETBASE_FLUSH_INTERVAL_SECS": "0.5", "SYNCD_METRICS_RATE_LIMIT_PER_SEC": "0"},
    "aurum": {},
    "prethrift": {},
    "assistant": {"ASSISTANT_TRACING_SAMPLE_RATE": "1.0"},
}


def _vm(pid: int, field: str) -> float | None:
    """``VmRSS``/``VmHWM`` (peak RSS) of a process in MiB, from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _raw(port: int, head: bytes, body_chunks: Sequence[bytes] = (), timeout: float = 10.0) -> int:
    """Send raw bytes to 127.0.0.1:port and return the status of the answer (0 if none came)."""
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
        try:
            sock.sendall(head)
            for chunk in body_chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the service may answer and close before it read everything: the answer is what counts
        try:
            answer = sock.recv(64)
        except OSError:
            return 0
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def oversize_probes(port: int, path: str = "/api/ok") -> dict[str, int]:
    """Oversized input sent over raw sockets (the HTTP client libraries refuse to build some of it)."""
    host = f"Host: {LOOPBACK}:{port}\r\n".encode()
    big = 4 << 20
    chunk = b"a" * 65536
    chunked = [b"%x\r\n" % len(chunk) + chunk + b"\r\n"] * ((big + (1 << 20)) // len(chunk)) + [b"0\r\n\r\n"]
    return {
        "header 64 KiB": _raw(port, b"GET " + path.encode() + b" HTTP/1.1\r\n" + host + b"X-Big: " + b"a" * 65536
                              + b"\r\n\r\n"),
        "header 2 MiB": _raw(port, b"GET " + path.encode() + b" HTTP/1.1\r\n" + host + b"X-Big: " + b"a" * (2 << 20)
                             + b"\r\n\r\n"),
        "500 headers": _raw(port, b"GET " + path.encode() + b" HTTP/1.1\r\n" + host
                            + b"".join(b"X-H%d: v\r\n" % i for i in range(500)) + b"\r\n"),
        "url 16 KiB": _raw(port, b"GET " + path.encode() + b"?q=" + b"a" * 16384 + b" HTTP/1.1\r\n" + host + b"\r\n"),
        "body 8 MiB (content-length)": _raw(port, b"POST " + path.encode() + b" HTTP/1.1\r\n" + host
                                            + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (8 << 20),
                                            [b"{" + b" " * 65536]),
        "body 5 MiB (chunked)": _raw(port, b"POST " + path.encode() + b" HTTP/1.1\r\n" + host
                                     + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", chunked),
    }


class _Service:
    """One reference service for the run, its stdout and stderr in files of their own."""

    def __init__(self, stack: Any, profile: str, workdir: Path) -> None:
        from obsconf.stack.process import ManagedProcess
        from obsconf.stack.readiness import http_ok
        from obsconf.target.reference import reference_env

        self.profile = profile
        self.port = free_port()
        self.base = f"http://{LOOPBACK}:{self.port}"
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.daemon_id = str(uuid.uuid4())
        self.log_file = workdir / "daemon.log"
        env = {"OBSCONF_LOGS_FLUSH_INTERVAL": "0.5", "OTEL_BSP_SCHEDULE_DELAY": "200",
               "SYNCD_DAEMON_ID": self.daemon_id, "SYNCD_LOG_FILE_PATH": str(self.log_file),
               "PERSIST_LOCAL_DIR": str(workdir / "store"), "SYNCD_DATA_DIR": str(workdir / "data"),
               **PROFILE_ENV[profile]}
        self.stdout = workdir / "stdout.log"
        command = (f"exec {shlex.quote(sys.executable)} -m obsconf.reference --profile {profile} "
                   f"--port {self.port} 2>>{shlex.quote(str(workdir / 'stderr.log'))}")
        self.process = ManagedProcess(f"reference service ({profile}) for the security run", ["/bin/sh", "-c", command],
                                      log_path=self.stdout, probe=http_ok(f"{self.base}/api/ok"), ready_timeout=30.0,
                                      env=reference_env(stack.endpoints, workdir / "files", env))

    def __enter__(self) -> _Service:
        self.process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.stop()

    @property
    def pid(self) -> int:
        return self.process.pid


def run_profile(stack: Any, profile: str, workdir: Path, *, examples: int, seed: int = 0,
                progress: Callable[[str], None] = print) -> ProfileRun:
    """The whole run for one profile against ``stack`` (a running :class:`obsconf.stack.Stack`)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hyp_seed

    from obsconf.readers.jaeger import JaegerReader
    from obsconf.readers.logs import LogReader
    from obsconf.readers.prometheus import PrometheusReader
    from obsconf.reference.config import SERVICE_NAMES

    run = ProfileRun(profile)
    began = time.monotonic()
    book = CanaryBook(random.Random(f"{profile}-{seed}"))
    e = stack.endpoints
    with _Service(stack, profile, workdir) as svc:
        job = f"security-{profile}"
        started_ns = time.time_ns()
        stack.add_scrape_target(job, f"{LOOPBACK}:{svc.port}")
        run.rss_start_mb = _vm(svc.pid, "VmRSS")
        ops = operations(requests.get(svc.base + "/openapi.json", timeout=10).json())
        session = requests.Session()
        outcomes: list[Outcome] = []
        per_op = max(2, examples // max(1, len(ops)))
        progress(f"{profile}: sending {per_op} hostile requests to each of {len(ops)} operations")
        for op in ops:  # one hypothesis run per operation: every operation gets its share

            @hyp_seed(seed)
            @settings(max_examples=per_op, database=None, deadline=None, suppress_health_check=list(HealthCheck))
            @given(plan=plans([op]))
            def send(plan: Any) -> None:
                outcomes.append(send_http(session, svc.base, materialize(plan, book)))

            send()
        run.oversize = oversize_probes(svc.port)
        run.record(outcomes)
        run.canaries = len(book.placements)
        run.placements = book.by_kind()
        time.sleep(1.5)  # the last log batch and span batch leave on their timers
        progress(f"{profile}: reading back every sink")
        src = SinkSources(SERVICE_NAMES[profile], job, svc.base, svc.stdout, (svc.log_file,), started_ns,
                          pocketbase_filter=f"daemon_id = '{svc.daemon_id}'" if profile == "syncd" else "",
                          trace_api=profile == "aurum")
        texts = read_all(src, logs=LogReader(e.logs_query_url, e.logs_dialect), jaeger=JaegerReader(e.jaeger_query_url),
                         prometheus=PrometheusReader(e.prometheus_url),
                         pocketbase=stack.pocketbase() if e.pocketbase_url else None)
        run.peak_rss_mb = _vm(svc.pid, "VmHWM")
    run.sinks = {sink: len(text) for sink, text in texts}
    run.add_leaks(scan_all(texts, book.placements))
    run.duration_s = round(time.monotonic() - began, 1)
    stderr = (workdir / "stderr.log").read_text(errors="replace") if (workdir / "stderr.log").exists() else ""
    if "Traceback" in stderr:
        run.notes.append("the service wrote a traceback to stderr: " + stderr[stderr.index("Traceback"):][:500])
    return run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profiles", default=",".join(PROFILES), help="comma-separated (default: all five)")
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES,
                        help="hostile requests per profile, shared equally by its operations")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (runs repeat with the same seed)")
    parser.add_argument("--out-dir", default="reports", help="where security.json is written")
    parser.add_argument("--mode", choices=("process", "container"), default="process", help="how the stack runs")


def run(args: argparse.Namespace) -> int:
    """Start a stack, run every profile, write the report; exit 1 on any problem."""
    from obsconf.settings import Settings
    from obsconf.stack import start_stack

    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    unknown = sorted(set(profiles) - set(PROFILES))
    if unknown:
        raise ObsconfError(f"--profiles: unknown {', '.join(unknown)}; choose from {', '.join(PROFILES)}")
    if args.examples < 1:
        raise ObsconfError(f"--examples {args.examples}: give at least 1")
    out = Path(args.out_dir)
    began = time.monotonic()
    runs: list[ProfileRun] = []
    with start_stack(Settings.from_env(stack=args.mode), progress=lambda line: print(line, file=sys.stderr)) as stack:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="obsconf-security-") as tmp:
            for profile in profiles:
                runs.append(run_profile(stack, profile, Path(tmp) / profile, examples=args.examples, seed=args.seed,
                                        progress=lambda line: print(line, file=sys.stderr)))
    out.mkdir(parents=True, exist_ok=True)
    report = out / "security.json"
    report.write_text(render_json(runs, meta={"examples_per_profile": args.examples, "seed": args.seed,
                                              "stack": args.mode, "duration_s": round(time.monotonic() - began, 1)}))
    problems = [p for r in runs for p in r.problems()]
    for r in runs:
        print(f"{r.profile:10} {r.requests} requests, {r.canaries} canaries, {r.leak_count} leaks, "
              f"{r.unexpected_5xx_count} unexpected 5xx, peak RSS {r.peak_rss_mb} MiB, {r.duration_s} s")
    print(f"report: {report}")
    for p in problems:
        print(f"PROBLEM: {p}")
    return 1 if problems else 0
