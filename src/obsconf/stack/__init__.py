"""The backend stack of a session: Jaeger, Prometheus, the log store, PocketBase, Toxiproxy, an S3 store.

``start_stack(settings)`` returns a :class:`Stack` (a context manager) whose ``endpoints`` say where each
backend answers. Modes: ``process`` (local processes, the binaries from ``obsconf provision``),
``container`` (testcontainers), ``attach`` (the stack ``obsconf stack up`` runs), ``external`` (URLs of
backends the user already runs), ``auto``. PocketBase and the S3 store are optional components: they
start only when ``needs`` names them (a selected contract uses them).
"""

from __future__ import annotations

from collections.abc import Callable

from obsconf.errors import UsageError
from obsconf.settings import STACK_MODES, Settings
from obsconf.stack.endpoints import Endpoints
from obsconf.stack.handle import Stack

__all__ = ["OPTIONAL_COMPONENTS", "Endpoints", "Stack", "start_stack"]

#: Backends that start only when a selected contract needs them; the rest always run.
OPTIONAL_COMPONENTS = frozenset({"pocketbase", "s3"})


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
        from obsconf.stack.external import external_stack

        return external_stack(settings, progress, needs)
    if chosen == "attach":
        from obsconf.stack.attach import attach_stack

        return attach_stack(settings, progress)
    if chosen == "container":
        from obsconf.stack.container import start_container_stack

        return start_container_stack(settings, progress=progress, needs=needs)
    from obsconf.stack.process_stack import start_process_stack

    return start_process_stack(settings, progress, keep_workdir=keep_workdir, needs=needs)
