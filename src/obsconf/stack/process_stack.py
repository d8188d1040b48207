"""The process stack: every backend as a local process (the binaries ``obsconf provision`` installed), each on
a free 127.0.0.1 port; what a dead session left is reaped first."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from obsconf import provision
from obsconf.ports import LOOPBACK, free_ports
from obsconf.settings import Settings
from obsconf.stack.addresses import build_endpoints, local_url
from obsconf.stack.handle import Stack
from obsconf.stack.jaeger import JaegerPorts, jaeger_process
from obsconf.stack.logstore import logstore_process
from obsconf.stack.objectstore import objectstore_process
from obsconf.stack.pocketbase import PocketBaseProcess
from obsconf.stack.process import reap_orphans
from obsconf.stack.prometheus import PrometheusProcess
from obsconf.stack.toxiproxy import toxiproxy_process


def start_process_stack(settings: Settings, progress: Callable[[str], None], *, keep_workdir: bool,
                        needs: frozenset[str]) -> Stack:
    """Start every backend (optional ones only if ``needs`` names them); on any failure stop what started."""
    registry = settings.run_dir
    reaped = reap_orphans(registry)
    if reaped:
        progress(f"reaped {len(reaped)} process(es) left by a dead session: {', '.join(reaped)}")
    # Resolve every binary first: a missing one fails before anything starts.
    wanted = ["jaeger", "prometheus", "victoria-logs", "toxiproxy-server"]
    wanted += [name for name, part in (("pocketbase", "pocketbase"), ("rclone", "s3")) if part in needs]
    bins = {name: provision.binary(settings, name) for name in wanted}
    workdir = Path(tempfile.mkdtemp(prefix="obsconf-stack-"))
    stack = ExitStack()
    if not keep_workdir:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
    timings: dict[str, float] = {}
    logs: dict[str, Path] = {}
    timeout = settings.ready_timeout
    try:
        (otlp_grpc, otlp_http, q_http, q_grpc, health, prom, logs_port, pb, toxi, s3) = free_ports(10)

        def run(name: str, starter: Callable[[], object], stopper: Callable[[], None], log: Path) -> None:
            began = time.monotonic()
            progress(f"starting {name} ...")
            stack.callback(stopper)  # registered first: a failed start is stopped too
            starter()
            timings[name] = time.monotonic() - began
            logs[name] = log
            progress(f"  {name} ready in {timings[name]:.2f} s")

        jaeger = jaeger_process(bins["jaeger"], JaegerPorts(otlp_grpc, otlp_http, q_http, q_grpc, health), workdir,
                                timeout=timeout, registry=registry)
        run("jaeger", jaeger.start, jaeger.stop, jaeger.log_path)
        prometheus = PrometheusProcess(bins["prometheus"], prom, workdir, timeout=timeout, registry=registry)
        run(f"prometheus {settings.prometheus_version}", prometheus.start, prometheus.stop, prometheus.process.log_path)
        logstore = logstore_process(bins["victoria-logs"], logs_port, workdir, timeout=timeout, registry=registry)
        run("logs (victoria-logs)", logstore.start, logstore.stop, logstore.log_path)
        if "pocketbase" in needs:
            pocketbase = PocketBaseProcess(bins["pocketbase"], pb, workdir, timeout=timeout, registry=registry)
            run("pocketbase", pocketbase.start, pocketbase.stop, pocketbase.process.log_path)
        toxiproxy = toxiproxy_process(bins["toxiproxy-server"], toxi, workdir, timeout=timeout, registry=registry)
        run("toxiproxy", toxiproxy.start, toxiproxy.stop, toxiproxy.log_path)
        if "s3" in needs:
            objectstore = objectstore_process(bins["rclone"], s3, workdir, timeout=timeout, registry=registry)
            run("s3 (rclone)", objectstore.start, objectstore.stop, objectstore.log_path)
    except BaseException:
        stack.close()
        raise
    urls = {"jaeger": local_url(q_http), "otlp_http": local_url(otlp_http), "otlp_grpc": f"{LOOPBACK}:{otlp_grpc}",
            "prometheus": local_url(prom), "logs": local_url(logs_port), "toxiproxy": local_url(toxi)}
    urls |= {name: local_url(port) for name, port in (("pocketbase", pb), ("s3", s3)) if name in needs}
    endpoints = build_endpoints(urls)
    return Stack("process", endpoints, stack, workdir=workdir, prometheus=prometheus, timings=timings, log_files=logs)
