"""What a draft is made from: the user's request (:class:`DraftRequest`) and what one run of the workload
left in the real backends (:class:`Observation`). Both are plain data, so the drafting is pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from obsconf.contract.model import Contract, DependencySpec, ServiceSpec, Step
from obsconf.model import Finding, HttpExchange, LogRecord

if TYPE_CHECKING:
    from obsconf.live.collect import Collected


@dataclass(frozen=True)
class DraftRequest:
    """The service to draft a contract for, how to reach it, and what to send it.

    Either ``command`` (argv with ``{port}``; obsconf starts it in ``cwd``) or ``url`` (already running and
    sending its telemetry to the stack of ``obsconf stack up``)."""

    name: str  # OTEL_SERVICE_NAME obsconf gives the service (or the one it was started with)
    steps: tuple[Step, ...]
    steps_origin: str  # "steps file x.yaml", "--get/--post": said in the draft's header
    command: tuple[str, ...] = ()
    command_text: str = ""  # the command as the user typed it (written to service.command)
    cwd: Path | None = None
    url: str = ""
    env: dict[str, str] = field(default_factory=dict)
    dependencies: tuple[DependencySpec, ...] = ()
    metrics_path: str = "/metrics"
    ready_path: str | None = None
    ready_timeout: float = 30.0
    health_paths: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    output: Path | None = None  # where the draft goes (None: stdout)

    def launch_contract(self) -> Contract:
        """An in-memory contract with only what starting and driving the service needs."""
        where = self.output if self.output is not None else (self.cwd or Path.cwd()) / "draft.yaml"
        service = ServiceSpec(name=self.name, command=self.command, cwd=self.cwd, metrics_path=self.metrics_path,
                              ready_path=self.ready_path, ready_timeout=self.ready_timeout, env=dict(self.env),
                              dependencies=self.dependencies)
        return Contract(path=where, seed=None, service=service, workload=self.steps)


@dataclass
class Observation:
    """One run of the workload against the service on the real stack, as read back from every backend.

    ``collected`` is the suite's own snapshot of the workload window (exchanges, spans, stdout lines,
    metrics before and after); the rest is what the suite does not read by default: every line of the
    log store and of stdout since the service started (so start-up lines can be exempted from trace
    correlation), the health endpoints' answers, and ``promtool check metrics`` on the exposition."""

    request: DraftRequest
    collected: Collected
    store_lines: list[LogRecord] = field(default_factory=list)  # every stream, since the service started
    console_lines: list[LogRecord] = field(default_factory=list)  # stdout since the service started
    health: dict[str, list[HttpExchange]] = field(default_factory=dict)  # path -> the calls made
    promtool: list[Finding] | None = None  # None: promtool is not installed
    port: int = 0  # the port the service listened on in this run (not a value to expect next time)
    stack_mode: str = ""
    when: str = ""  # ISO time of the run

    @property
    def sent_trace_ids(self) -> set[str]:
        return set(self.collected.sent_trace_ids())
