"""The backend stack of a session: Jaeger, Prometheus, the log store, PocketBase, Toxiproxy, an S3 store.

``start_stack(settings)`` returns a :class:`Stack` (a context manager) whose ``endpoints`` say where each
backend answers. Modes: ``process`` (local processes, the binaries from ``obsconf provision``),
``container`` (testcontainers), ``attach`` (the stack ``obsconf stack up`` runs), ``external`` (URLs of
backends the user already runs), ``auto``. PocketBase and the S3 store are optional components: they
start only when ``needs`` names them (a selected contract uses them).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

from obsconf import provision
from obsconf.errors import BackendNotReady, UsageError
from obsconf.ports import LOOPBACK, free_ports
from obsconf.settings import STACK_MODES, Settings
from obsconf.stack.addresses import build_endpoints, local_url
from obsconf.stack.endpoints import Endpoints
from obsconf.stack.jaeger import JaegerPorts, jaeger_process
from obsconf.stack.logstore import logstore_process
from obsconf.stack.objectstore import objectstore_process
from obsconf.stack.pocketbase import PocketBaseProcess
from obsconf.stack.pocketbase_admin import PocketBaseAdmin
from obsconf.stack.process import reap_orphans
from obsconf.stack.prometheus import PrometheusControl, PrometheusProcess
from obsconf.stack.readiness import http_ok, wait_ready
from obsconf.stack.toxiproxy import ToxiproxyClient, toxiproxy_process

__all__ = ["OPTIONAL_COMPONENTS", "Endpoints", "Stack", "start_stack"]

#: Backends that start only when a selected contract needs them; the rest always run.
OPTIONAL_COMPONENTS = frozenset({"pocketbase", "s3"})


class Stack:
    """Running backends and the handles a test needs to steer them. Stops everything on exit."""

    def __init__(self, mode: str, endpoints: Endpoints, exit_stack: ExitStack, *, workdir: Path | None,
                 prometheus: PrometheusControl | None = None, timings: dict[str, float] | None = None,
                 log_files: dict[str, Path] | None = None,
                 log_readers: dict[str, Callable[[], str]] | None = None) -> None:
        self.mode = mode
        self.endpoints = endpoints
        self.workdir = workdir
        self.timings = timings or {}
        self.log_files = log_files or {}
        self._log_readers = log_readers or {}
        self._exit_stack = exit_stack
        self._prometheus = prometheus

    @property
    def toxiproxy(self) -> ToxiproxyClient | None:
        return ToxiproxyClient(self.endpoints.toxiproxy_url) if self.endpoints.toxiproxy_url else None

    def pocketbase(self) -> PocketBaseAdmin | None:
        """A superuser client of the stack's PocketBase (it reads records too), or None when this stack runs none."""
        ends = self.endpoints
        if not ends.pocketbase_url:
            return None
        return PocketBaseAdmin(ends.pocketbase_url, ends.pocketbase_admin_email, ends.pocketbase_admin_password,
                               log_file=self.log_files.get("pocketbase"))

    def add_scrape_target(self, job: str, address: str, metrics_path: str = "/metrics", *,
                          bearer_token: str | None = None) -> None:
        """Have Prometheus scrape ``address`` (host:port) as ``job`` from now on (with ``Authorization:
        Bearer`` when ``bearer_token`` is given)."""
        if self._prometheus is None:
            raise UsageError(
                f"cannot add scrape target {address} to an external Prometheus ({self.endpoints.prometheus_url}); "
                f"configure it to scrape job {job!r} at {address}{metrics_path} yourself"
            )
        self._prometheus.add_target(job, address, metrics_path, bearer_token=bearer_token)

    def remove_scrape_target(self, job: str) -> None:
        """Stop scraping ``job`` (nothing to do for an external Prometheus, which obsconf never changed)."""
        if self._prometheus is not None:
            self._prometheus.remove_target(job)

    def add_rules(self, name: str, rules_file: Path) -> None:
        if self._prometheus is None:
            raise UsageError(f"cannot load rules into an external Prometheus; load {rules_file} there yourself")
        self._prometheus.add_rules(name, rules_file)

    def backend_log(self, name: str) -> str:
        """What backend ``name`` (e.g. ``toxiproxy``) has logged so far ("" when this stack cannot tell)."""
        if name in self._log_readers:
            return self._log_readers[name]()
        path = self.log_files.get(name)
        if path is None:
            return ""
        try:
            return path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        self._exit_stack.close()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def engine_available() -> bool:
    """True when a Docker-compatible engine answers (DOCKER_HOST or the default socket)."""
    try:
        from obsconf.stack.engine import engine_available as probe
    except ImportError:
        return False
    return probe()


def resolve_mode(mode: str, settings: Settings | None = None) -> tuple[str, str]:
    """The mode to run and why. ``auto`` attaches to a live stack of ``obsconf stack up``, else picks
    containers when an engine answers and has every image (built by `obsconf images build` or pulled),
    processes otherwise."""
    if mode not in STACK_MODES:
        raise UsageError(f"unknown stack mode {mode!r}: use one of {', '.join(STACK_MODES)}")
    if mode != "auto":
        return mode, "requested"
    from obsconf.stack.attach import live_state

    state = live_state(settings or Settings.from_env())
    if state is not None:
        return "attach", f"`obsconf stack up` runs a {state.mode} stack (pid {state.owner_pid})"
    if not engine_available():
        return "process", "no container engine answers (`bash scripts/setup-podman` starts one)"
    from obsconf.stack.container_images import missing_images

    missing = missing_images(settings or Settings.from_env())
    if missing:
        return "process", (f"a container engine answers but lacks images {', '.join(missing)} "
                           "(`obsconf images build` builds them)")
    return "container", "a container engine answers and has every image"


def start_stack(settings: Settings, *, mode: str | None = None, progress: Callable[[str], None] = print,
                keep_workdir: bool = False, needs: frozenset[str] | None = None) -> Stack:
    """Start (or, in attach and external modes, reach) every backend; on any failure stop what started,
    then raise. ``needs`` names the optional components to run (default: all of them)."""
    requested = mode or settings.stack
    needs = OPTIONAL_COMPONENTS if needs is None else needs & OPTIONAL_COMPONENTS
    chosen, why = resolve_mode(requested, settings)
    if requested == "auto":
        progress(f"stack mode auto -> {chosen}: {why}")
    if chosen == "external":
        return _external_stack(settings, progress, needs)
    if chosen == "attach":
        from obsconf.stack.attach import attach_stack

        return attach_stack(settings, progress)
    if chosen == "container":
        from obsconf.stack.container import start_container_stack

        return start_container_stack(settings, progress=progress, needs=needs)
    return _process_stack(settings, progress, keep_workdir=keep_workdir, needs=needs)


def _process_stack(settings: Settings, progress: Callable[[str], None], *, keep_workdir: bool,
                   needs: frozenset[str]) -> Stack:
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


def _external_stack(settings: Settings, progress: Callable[[str], None], needs: frozenset[str]) -> Stack:
    ext = settings.external
    needed = {"jaeger": "OBSCONF_JAEGER_URL / --obsconf-jaeger-url", "otlp_http": "OBSCONF_OTLP_HTTP_URL / --obsconf-otlp-url",
              "prometheus": "OBSCONF_PROMETHEUS_URL / --obsconf-prometheus-url", "loki": "OBSCONF_LOKI_URL / --obsconf-loki-url"}
    if "pocketbase" in needs:
        needed["pocketbase"] = "OBSCONF_POCKETBASE_URL / --obsconf-pocketbase-url (a selected contract uses PocketBase)"
    missing = [f"{k} ({how})" for k, how in needed.items() if not ext.get(k)]
    if missing:
        raise UsageError("--obsconf-stack=external needs the URL of every backend; missing: " + "; ".join(missing)
                         + ". Or use --obsconf-stack=process to start them here.")
    dialect = ext.get("loki_dialect", "logql")
    if dialect not in ("logql", "logsql"):
        raise UsageError(f"--obsconf-loki-dialect {dialect!r}: use logql (Grafana Loki) or logsql (VictoriaLogs)")
    probes = {
        "jaeger": f"{ext['jaeger'].rstrip('/')}/api/services",
        "prometheus": f"{ext['prometheus'].rstrip('/')}/-/ready",
        "loki": f"{ext['loki'].rstrip('/')}/{'ready' if dialect == 'logql' else 'health'}",
    }
    if ext.get("pocketbase"):
        probes["pocketbase"] = f"{ext['pocketbase'].rstrip('/')}/api/health"
    for name, url in probes.items():
        progress(f"checking external {name} at {url}")
        try:
            wait_ready(f"external {name} ({url})", http_ok(url), timeout=min(settings.ready_timeout, 10))
        except BackendNotReady as exc:
            raise BackendNotReady(f"{exc}. Check the URL, or use --obsconf-stack=process to start one here.") from None
    email, _, password = ext.get("pocketbase_admin", ":").partition(":")
    urls = {"jaeger": ext["jaeger"].rstrip("/"), "otlp_http": ext["otlp_http"].rstrip("/"),
            "otlp_grpc": ext.get("otlp_grpc", ""), "prometheus": ext["prometheus"].rstrip("/"),
            "logs": ext["loki"].rstrip("/"), "pocketbase": ext.get("pocketbase", "").rstrip("/"),
            "toxiproxy": ext.get("toxiproxy", "")}
    endpoints = build_endpoints(urls, dialect=dialect, pocketbase_admin=(email, password))
    return Stack("external", endpoints, ExitStack(), workdir=None)
