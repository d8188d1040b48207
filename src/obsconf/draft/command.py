"""``obsconf contract draft``: the options, turned into a :class:`DraftRequest`; the run, and the draft written.

Parsing the options is pure (:func:`request_from_args`); only :func:`run` starts anything.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

from obsconf.contract.command import parse_command
from obsconf.contract.model import DEPENDENCY_BACKENDS, DependencySpec, RequestStep, Step
from obsconf.draft.observation import DraftRequest
from obsconf.errors import ContractError, UsageError

STACK_CHOICES = ("auto", "process", "container", "attach")
_NAME = re.compile(r"[^a-z0-9_.-]+")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _tagged(method: str):  # noqa: ANN202 - an argparse type
    def parse(value: str) -> tuple[str, str]:
        return method, value

    return parse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``draft`` to the ``obsconf contract`` subcommands."""
    p = sub.add_parser(
        "draft", help="run a workload against a service on the real stack and write a contract it passes",
        description="Run a workload against your service on the real stack (Jaeger, Prometheus, the log store) and "
                    "write a contract the service passes as it is, each line with its evidence as a comment. "
                    "Tighten it, then run it with pytest.")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--target-cmd", metavar="CMD", help="the command that starts the service, with {port} where "
                        "its port goes (obsconf starts it with the standard OTEL_*/LOKI_* variables)")
    target.add_argument("--target", metavar="URL", help="a service already running on 127.0.0.1 and sending to the "
                        "stack of `obsconf stack up` (needs --name)")
    p.add_argument("--name", help="the service name (OTEL_SERVICE_NAME); default: the directory the command runs in")
    work = p.add_argument_group("workload (in order; at least one)")
    work.add_argument("--steps", metavar="FILE", help="YAML steps in the contract's workload: format (or a contract)")
    work.add_argument("--get", dest="calls", action="append", type=_tagged("GET"), metavar="PATH", default=[],
                      help="GET PATH (repeatable)")
    work.add_argument("--post", dest="calls", action="append", type=_tagged("POST"), metavar="PATH[:JSON]",
                      help="POST PATH with an optional JSON body, e.g. --post '/orders:{\"item\": \"mug\"}'")
    work.add_argument("--repeat", type=int, default=3, help="send each --get/--post this many times (default 3)")
    p.add_argument("--health", action="append", default=[], metavar="PATH", help="a health endpoint: the draft infers "
                   "a JSON Schema from its bodies (repeatable)")
    p.add_argument("--secret", action="append", default=[], metavar="VALUE", help="a canary secret the workload sends "
                   "(in a body or header): it becomes a redaction value the logs and spans must never carry")
    svc = p.add_argument_group("service")
    svc.add_argument("--cwd", metavar="DIR", help="where --target-cmd runs (default: the current directory)")
    svc.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="a variable to start it with")
    svc.add_argument("--dependency", action="append", default=[], metavar="NAME=ENV:UPSTREAM",
                     help=f"a dependency obsconf puts behind Toxiproxy: UPSTREAM is one of {', '.join(DEPENDENCY_BACKENDS)}"
                          " or a URL; the service reads the proxy's address from ENV")
    svc.add_argument("--ready-path", metavar="PATH", help="answers when the service is ready (default: --metrics-path)")
    svc.add_argument("--metrics-path", default="/metrics", metavar="PATH", help="default /metrics")
    svc.add_argument("--ready-timeout", type=float, default=30.0, metavar="S", help="seconds to wait (default 30)")
    p.add_argument("--stack", choices=STACK_CHOICES, default=None, help="how to run the backends (default: "
                   "OBSCONF_STACK or auto: attach to `obsconf stack up`, else containers or processes)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the draft here (default: stdout)")
    p.set_defaults(func=run)


def _path(value: str, option: str) -> str:
    if not value.startswith("/"):
        raise UsageError(f"{option} {value!r}: give a path starting with '/', e.g. {option} /orders")
    return value


def _call(method: str, value: str, repeat: int) -> RequestStep:
    option = f"--{method.lower()}"
    path, sep, body = value.partition(":") if method == "POST" else (value, "", "")
    data = None
    if sep:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise UsageError(f"{option} {value!r}: the part after ':' is not JSON ({exc}); write e.g. "
                             f"{option} '/orders:{{\"item\": \"mug\"}}'") from None
    return RequestStep(method=method, path=_path(path, option), json=data, repeat=repeat, expect_status=())


def _pairs(values: list[str], option: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not _ENV.match(key):
            raise UsageError(f"{option} {value!r}: write KEY=VALUE with a variable name as KEY")
        out[key] = val
    return out


def _dependency(value: str) -> DependencySpec:
    name, sep, rest = value.partition("=")
    env, sep2, upstream = rest.partition(":")
    if not (sep and sep2 and name and _ENV.match(env)) or not (upstream in DEPENDENCY_BACKENDS
                                                                or re.match(r"^https?://", upstream)):
        raise UsageError(f"--dependency {value!r}: write NAME=ENV:UPSTREAM, e.g. store=S3_ENDPOINT_URL:s3 "
                         f"(UPSTREAM: {', '.join(DEPENDENCY_BACKENDS)} or an http(s) URL)")
    return DependencySpec(name=name, env=env, upstream=upstream)


def request_from_args(args: argparse.Namespace) -> DraftRequest:
    """The draft request the options describe; UsageError names the option to fix."""
    from obsconf.contract.loader import load_steps

    steps: list[Step] = []
    origins = []
    if args.steps:
        steps += load_steps(args.steps)
        origins.append(f"steps file {args.steps}")
    if args.repeat < 1:
        raise UsageError(f"--repeat {args.repeat}: send each request at least once")
    steps += [_call(method, value, args.repeat) for method, value in args.calls]
    if args.calls:
        origins.append("--get/--post")
    if not steps:
        raise UsageError("give a workload: --steps FILE, or --get PATH / --post PATH[:JSON] (repeatable)")
    cwd = Path(args.cwd).resolve() if args.cwd else Path.cwd()
    if not cwd.is_dir():
        raise UsageError(f"--cwd {args.cwd}: no such directory")
    if args.target and not args.name:
        raise UsageError(f"--target {args.target}: give --name, the OTEL_SERVICE_NAME the service runs with "
                         "(obsconf reads its spans and log stream under it)")
    name = args.name or _NAME.sub("-", cwd.name.lower()).strip("-") or "service"
    command = parse_command(args.target_cmd) if args.target_cmd else ()
    if command and not any("{port}" in arg for arg in command):
        raise UsageError(f"--target-cmd {args.target_cmd!r}: put {{port}} where the service's port goes (obsconf "
                         "picks a free 127.0.0.1 port), e.g. 'python app.py --port {port}'")
    return DraftRequest(
        name=name, steps=tuple(steps), steps_origin=" and ".join(origins), command=command,
        command_text=args.target_cmd or "", cwd=cwd if command else None, url=args.target or "",
        env=_pairs(args.env, "--env"), dependencies=tuple(_dependency(d) for d in args.dependency),
        metrics_path=_path(args.metrics_path, "--metrics-path"),
        ready_path=_path(args.ready_path, "--ready-path") if args.ready_path else None,
        ready_timeout=args.ready_timeout, health_paths=tuple(_path(h, "--health") for h in args.health),
        secrets=tuple(args.secret), output=Path(args.output) if args.output else None)


def _validate(text: str, output: Path | None) -> int:
    """Load the draft as `obsconf contract check` does; the number of cases it runs."""
    from obsconf.cases.suite import build_cases
    from obsconf.contract.loader import load_contract

    if output is not None:
        return len(build_cases(load_contract(output)))
    with tempfile.TemporaryDirectory(prefix="obsconf-draft-") as tmp:
        path = Path(tmp) / "draft.yaml"
        path.write_text(text, encoding="utf-8")
        return len(build_cases(load_contract(path)))


def run(args: argparse.Namespace) -> int:
    """Draft, write, validate; warnings and the next steps go to stderr."""
    from obsconf.contract.loader import contracts_dir
    from obsconf.draft.build import draft_contract, run_options
    from obsconf.draft.observe import observe
    from obsconf.settings import Settings

    req = request_from_args(args)
    settings = Settings.from_env(stack=args.stack)
    obs = observe(req, settings, progress=lambda line: print(line, file=sys.stderr, flush=True))
    draft = draft_contract(obs, repo_schema=contracts_dir() / "contract.schema.json")
    if req.output is not None:
        req.output.parent.mkdir(parents=True, exist_ok=True)
        req.output.write_text(draft.text, encoding="utf-8")
    else:
        sys.stdout.write(draft.text)
    try:
        cases = _validate(draft.text, req.output)
    except ContractError as exc:
        print(f"obsconf: error: the draft does not load, which is a bug in `contract draft`: {exc}", file=sys.stderr)
        return 2
    for warning in draft.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    where = req.output or "FILE"
    print(f"{'wrote ' + str(req.output) if req.output else 'drafted (save it as FILE)'}: {cases} cases. Next: "
          "`obsconf contract explain "
          f"{where}`, tighten it, then `pytest {where} {run_options(req, obs.stack_mode)}`", file=sys.stderr)
    return 0
