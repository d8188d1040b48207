"""``obsconf overhead --target-cmd "CMD" --path /items/1``: the overhead of a user's own service.

obsconf starts the command twice, both on the service core: A as it is, B with the *off switch*
(``--off-env K=V``, repeatable; default ``OTEL_SDK_DISABLED=true``, the OpenTelemetry spec's switch that
the Python, Node and Java SDKs honour; a service whose SDK ignores it, Go's for one, reads it itself, or
names another switch). Then the same ABBA rounds, CPU per request of the whole process tree, bootstrap
intervals, reports and gate as for the reference.

In ``CMD``, ``{port}`` becomes a free 127.0.0.1 port (also given as ``PORT``); ``{{`` and ``}}`` are
literal braces; any other placeholder is refused. With ``--with-stack`` the service also gets the
standard variables an OpenTelemetry SDK and a Loki client read (:func:`otel_env`).
"""

from __future__ import annotations

import os
import shlex
import string
from collections.abc import Mapping, Sequence

from obsconf.errors import UsageError
from obsconf.overhead.service import Launch
from obsconf.stack.endpoints import Endpoints

PLACEHOLDERS = ("port",)
DEFAULT_OFF_ENV = {"OTEL_SDK_DISABLED": "true"}
DEFAULT_SERVICE_NAME = "obsconf-overhead-target"
LOKI_PUSH_SUFFIX = "/loki/api/v1/push"


def parse_command(command: str) -> tuple[str, ...]:
    """Split ``command`` like a shell (no shell runs it) and check its placeholders; errors say the fix."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"--target-cmd {command!r}: cannot split it into arguments ({exc}); check the quotes") \
            from None
    if not argv:
        raise UsageError("--target-cmd is empty: give the command that starts your service, e.g. "
                         "\"uvicorn app:app --port {port}\"")
    for arg in argv:
        try:
            fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(arg) if name is not None]
        except ValueError as exc:
            raise UsageError(f"--target-cmd {command!r}: {exc} in {arg!r}; write {{{{ or }}}} for a literal "
                             "brace") from None
        for name, spec, conv in fields:
            if name not in PLACEHOLDERS or spec or conv:
                shown = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
                raise UsageError(f"--target-cmd {command!r}: unknown placeholder {shown}; the only placeholder is "
                                 "{port} (a free 127.0.0.1 port); write {{ or }} for a literal brace")
    return tuple(argv)


def parse_env_pairs(pairs: Sequence[str], option: str) -> dict[str, str]:
    """``["K=V", ...]`` as a dict; a pair without ``=`` or with an empty name is refused."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or name != name.strip():
            raise UsageError(f"{option} {pair!r}: expected NAME=VALUE, e.g. {option} OTEL_SDK_DISABLED=true")
        out[name] = value
    return out


def otel_env(endpoints: Endpoints, service_name: str = DEFAULT_SERVICE_NAME) -> dict[str, str]:
    """The standard variables OpenTelemetry SDKs and Loki clients read, pointed at ``endpoints``.

    Kept to one small function on purpose: the suite's own ``service_env`` (target package) replaces it.
    """
    push = endpoints.logs_push_url
    return {
        "OTEL_SERVICE_NAME": service_name,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoints.otlp_http_url,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "1.0",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "LOKI_URL": push.removesuffix(LOKI_PUSH_SUFFIX),
        "LOKI_PUSH_URL": push,
    }


def target_launches(command: str, path: str, off_env: Mapping[str, str], extra_env: Mapping[str, str],
                    base: Mapping[str, str] | None = None) -> tuple[Launch, Launch]:
    """A (as it is) and B (with ``off_env``) of the user's ``command``; ready once ``path`` answers < 500."""
    argv = parse_command(command)
    if not off_env:
        raise UsageError("--off-env: give at least one NAME=VALUE that turns the instrumentation off")
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in off_env}
    env.update(extra_env)
    switch = " ".join(f"{k}={v}" for k, v in off_env.items())
    common = {"argv": argv, "ready_path": path, "ready_any_status": True, "describe": command,
              "missing_hint": "is the command's program on PATH?"}
    return (Launch("A", f"your service as started (`{command}`)", env=env, **common),
            Launch("B", f"your service with {switch}", env={**env, **off_env}, **common))
