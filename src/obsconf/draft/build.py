"""Assemble a drafted contract from an :class:`~obsconf.draft.observation.Observation` (pure).

The document has the sections a run can show - ``service``, ``workload``, ``logs``, ``spans``, ``metrics``,
``health``, and ``skip`` where a check fails on the service as it is - each line with the evidence as a
comment. What a run cannot show (retries, fault scenarios, alerts, SLOs, budgets) is a TODO comment.
"""

from __future__ import annotations

import os
import shlex
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsconf.contract.model import EmitStep, RequestStep, Step
from obsconf.contract.schema import SCHEMA_FILE
from obsconf.draft.health import health_section
from obsconf.draft.logs import logs_section
from obsconf.draft.metrics import metrics_section
from obsconf.draft.observation import DraftRequest, Observation
from obsconf.draft.spans import spans_section
from obsconf.draft.yamltext import Block, Comments, Entry, Item, Items, render
from obsconf.model import HttpExchange
from obsconf.workload.run import expand_steps

TODO_SECTIONS = (
    "TODO retries: a draft cannot infer them. A retry shows only when a dependency fails, and its backoff is a",
    "  decision in your code: declare the dependency (--dependency NAME=ENV:UPSTREAM), then write",
    "  retries: [{operation, max_attempts, backoff: {base_ms, factor}, attempt_span or log, fault: {dependency,",
    "  mode: reset_peer}}] (fixtures/contracts/README.md, examples/fastapi_shop/contract.yaml).",
    "TODO faults: what must hold while a dependency is down or slow (faults: [{name, dependency, mode, expect}]).",
    "Not drafted either (no run shows them): alerts, slos, budgets.",
)


@dataclass
class Draft:
    """A drafted contract: its text, and warnings about cases that fail on the service as it is."""

    text: str
    warnings: list[str] = field(default_factory=list)


def relative(path: Path, to: Path) -> str:
    """``path`` relative to directory ``to`` when they share a top directory, else absolute."""
    path, to = path.resolve(), to.resolve()
    if os.path.commonpath([path, to]) == path.anchor:
        return str(path)
    return os.path.relpath(path, to)


def schema_ref(output: Path | None, repo_schema: Path | None) -> str:
    """The ``$schema`` of the first line: ``./contract.schema.json`` beside the draft when it exists there (or
    the draft goes to stdout), else the repository's copy (relative to the draft where that reads well)."""
    if output is None or (output.parent / SCHEMA_FILE).exists() or repo_schema is None or not repo_schema.exists():
        return f"./{SCHEMA_FILE}"
    return relative(repo_schema, output.parent)


def run_options(req: DraftRequest, stack_mode: str = "process") -> str:
    """The pytest options that run the draft against the same service, on the kind of stack it was drafted on."""
    if req.url:
        return f"--obsconf-target {req.url} --obsconf-stack={stack_mode}"
    return f"--obsconf-stack={stack_mode if stack_mode in ('process', 'container', 'attach') else 'process'}"


def _statuses(exchanges: list[HttpExchange]) -> str:
    counts = Counter(x.status for x in exchanges)
    return ", ".join(f"{status} on {n} of {len(exchanges)}" for status, n in sorted(counts.items()))


def _step(step: Step, exchanges: list[HttpExchange], traced: int) -> Block:
    statuses = sorted({x.status for x in exchanges})
    expect = statuses[0] if len(statuses) == 1 else statuses
    evidence = f"answered {_statuses(exchanges)} request(s); {traced} traced"
    if isinstance(step, EmitStep):
        body = Block([Entry("n", step.n), Entry("level", step.level), Entry("path", step.path),
                      Entry("expect_status", expect)])
        kind = "emit"
    else:
        body = Block([Entry("method", step.method), Entry("path", step.path)])
        if step.json is not None:
            body.add("json", step.json)
        if step.headers:
            body.add("headers", step.headers)
        if step.repeat != 1:
            body.add("repeat", step.repeat)
        body.add("expect_status", expect)
        kind = "request"
    name = step.name or (f"{step.method} {step.path}" if isinstance(step, RequestStep) else f"emit {step.n}")
    return Block([Entry("name", name, evidence), Entry(kind, body)])


def _workload(obs: Observation) -> Items:
    exchanges = obs.collected.exchanges
    traces = obs.collected.traces
    flat = expand_steps(obs.request.steps)
    items, i = Items(), 0
    for step in obs.request.steps:
        n = step.repeat if isinstance(step, RequestStep) else 1
        mine = exchanges[i:i + n]
        i += n
        traced = sum(1 for x in mine if x.trace_id in traces)
        items.items.append(Item(_step(step, mine, traced)))
    assert i == len(flat) == len(exchanges), "every step's exchanges were made"
    return items


def _service(obs: Observation) -> Block:
    req = obs.request
    got = obs.collected
    block = Block([Entry("name", req.name, "OTEL_SERVICE_NAME; its spans arrived under it"
                         if any(s.service == req.name for s in got.spans) else "OTEL_SERVICE_NAME")])
    if req.command:
        block.add("command", req.command_text or shlex.join(req.command),
                  f"as given to --target-cmd; {{port}} is a free 127.0.0.1 port (this run: {obs.port})")
        cwd = req.cwd or Path.cwd()
        where = relative(cwd, req.output.parent) if req.output else str(cwd.resolve())
        block.add("cwd", where, "where the command ran" + (", relative to this file" if not Path(where).is_absolute()
                                                           else ""))
    else:
        block.entries.append(Entry("", Comments((
            f"TODO command: drafted from --target {req.url}; give the command that starts the service "
            "(with {port}), or run this contract with --obsconf-target URL",))))
    if req.ready_path:
        block.add("ready_path", req.ready_path, "answered before the workload ran")
    if req.ready_timeout != 30.0:
        block.add("ready_timeout", req.ready_timeout)
    block.add("metrics_path", req.metrics_path, f"{len(got.metrics_after)} metric families scraped there")
    if req.env:
        block.add("env", dict(req.env), "as given with --env")
    if req.dependencies:
        deps = Items()
        for d in req.dependencies:
            seen = got.traffic.get(d.name, 0)
            deps.items.append(Item(Block([
                Entry("name", d.name, f"{seen} connection(s) through its Toxiproxy proxy while the workload ran"),
                Entry("env", d.env), Entry("upstream", d.upstream)])))
        block.add("dependencies", deps)
    return block


def _section_or_why_not(doc: Block, key: str, value: Any, why_not: tuple[str, ...]) -> None:
    """The drafted section, or the comment lines saying why it was not drafted."""
    if value is not None:
        doc.add(key, value)
    else:
        doc.entries.append(Entry("", Comments(why_not)))


def draft_contract(obs: Observation, *, repo_schema: Path | None = None) -> Draft:
    """The drafted contract for what ``obs`` shows, as text that ``obsconf contract check`` accepts."""
    req = obs.request
    got = obs.collected
    warnings: list[str] = []
    doc = Block()
    doc.add("version", 1)
    doc.add("service", _service(obs))
    doc.add("workload", _workload(obs), f"{req.steps_origin}: {len(got.exchanges)} requests, each with a fresh "
                                        "W3C traceparent")
    logs = logs_section(obs)
    warnings += logs.warnings
    _section_or_why_not(doc, "logs", logs.block, logs.why_not)
    spans = spans_section(obs)
    warnings += spans.warnings
    _section_or_why_not(doc, "spans", spans.block, spans.why_not)
    metrics = metrics_section(got.metrics_after, got.metrics_before, obs.promtool, req.metrics_path,
                              req.ready_path)
    _section_or_why_not(doc, "metrics", metrics.value, metrics.why_not)
    health, health_notes = health_section(obs.health)
    if health is not None:
        doc.add("health", health, above=tuple(health_notes))
    elif health_notes:
        doc.entries.append(Entry("", Comments(tuple(health_notes))))
    elif not req.health_paths:
        doc.entries.append(Entry("", Comments(("TODO health: name your health endpoints with --health PATH, and the "
                                               "draft infers a JSON Schema from their bodies",))))
    skips = Items([Item(Block([Entry("check", kind, evidence), Entry("reason", reason)]))
                   for kind, reason, evidence in metrics.skips])
    if obs.promtool is None:
        warnings.append("promtool is not installed, so `promtool check metrics` was not run on the exposition; "
                        "the metrics.promtool case may fail")
    if skips.items:
        doc.add("skip", skips, above=("checks that fail on the service as it is, turned off with the finding as "
                                      "the reason: fix and delete them",))
    doc.entries.append(Entry("", Comments(TODO_SECTIONS)))
    header = (
        f"yaml-language-server: $schema={schema_ref(req.output, repo_schema)}",
        f"Drafted by `obsconf contract draft` at {obs.when} ({obs.stack_mode} stack) from "
        + (f"`{req.command_text or shlex.join(req.command)}`" if req.command else req.url) + ".",
        "Every value is what the service did in one run of this workload; the comments give the evidence.",
        "It passes against the service as it is. Tighten it: remove what is incidental, pin values (equals,",
        "pattern, levels, buckets), add the secrets your workload sends (redaction), then",
        f"`obsconf contract check` this file and run it: `pytest <this file> {run_options(req, obs.stack_mode)}`.",
    )
    return Draft(render(doc, header), warnings)
