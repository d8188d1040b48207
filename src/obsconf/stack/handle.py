"""The handle of a running stack: where each backend answers, and what a test needs to steer it (scrape
targets, rules, Toxiproxy, the PocketBase superuser, backend logs). Stops everything on exit."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

from obsconf.errors import UsageError
from obsconf.stack.endpoints import Endpoints
from obsconf.stack.pocketbase_admin import PocketBaseAdmin
from obsconf.stack.prometheus import PrometheusControl
from obsconf.stack.toxiproxy import ToxiproxyClient


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
