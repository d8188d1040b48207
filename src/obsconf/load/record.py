"""What every Locust request leaves behind: a W3C ``traceparent`` added before it is sent, and a record of
it (method, URL, status, latency, trace id, response headers) kept when Locust reports it.

Works with any user class whose ``client`` has Locust's ``request(method, url, ..., headers=, context=)``
(``HttpUser``, ``FastHttpUser``): the class is subclassed under its own name, so Locust's statistics and a
master's dispatch to workers see the user's class. Imports nothing of Locust (importing Locust patches the
process with gevent).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from obsconf.errors import UsageError
from obsconf.model import HttpExchange
from obsconf.workload.run import new_traceparent

#: the key under which a request's trace id travels in Locust's request ``context``
TRACE_KEY = "obsconf_trace_id"


def trace_id_of(traceparent: str) -> str:
    """The trace id of a W3C ``traceparent`` value ("" when it is not one)."""
    parts = traceparent.strip().lower().split("-")
    return parts[1] if len(parts) >= 4 and len(parts[1]) == 32 else ""


def _header(headers: dict[str, Any], name: str) -> Any:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def protected_paths_auth(paths: Sequence[str], token: str) -> Callable[[str], dict[str, str]] | None:
    """``Authorization: Bearer`` for the paths a contract's ``service.auth`` covers (None without a token)."""
    if not token or not paths:
        return None
    from obsconf.contract.model import AuthSpec

    spec = AuthSpec(env="", paths=tuple(paths))
    return lambda path: {"Authorization": f"Bearer {token}"} if spec.covers(path) else {}


def trace_client(client: Any, propagate: bool, auth: Callable[[str], dict[str, str]] | None = None) -> None:
    """Make every request of ``client`` carry a fresh sampled ``traceparent`` (unless the user's code set
    one, which is kept) and hand its trace id to the request event through Locust's ``context``. Without
    ``propagate`` (a run sampling below 1.0) no header is added, so the service's own sampler decides.
    ``auth(path)`` adds the session's token to paths behind it, unless the user's code set its own."""
    original = client.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        headers = dict(kwargs.get("headers") or {})
        if auth is not None and _header(headers, "authorization") is None:
            headers.update(auth(urlsplit(url).path or url))
        given = _header(headers, "traceparent")
        trace_id = trace_id_of(str(given)) if given else ""
        if given is None and propagate:
            headers["traceparent"], trace_id = new_traceparent()
        kwargs["headers"] = headers
        kwargs["context"] = {**(kwargs.get("context") or {}), TRACE_KEY: trace_id}
        return original(method, url, *args, **kwargs)

    client.request = request


def traced_class(user_class: type, propagate: bool, auth: Callable[[str], dict[str, str]] | None = None) -> type:
    """A subclass of ``user_class`` (same name, same tasks) whose client traces every request."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        user_class.__init__(self, *args, **kwargs)
        client = getattr(self, "client", None)
        if client is not None and hasattr(client, "request"):
            trace_client(client, propagate, auth)

    return type(user_class.__name__, (user_class,),
                {"__init__": __init__, "__module__": user_class.__module__, "__doc__": user_class.__doc__})


def load_user_class(locustfile: Path, name: str) -> type:
    """Import ``locustfile`` (its directory first on ``sys.path``, so sibling helpers import) and return its
    user class ``name``; a missing file or class is a UsageError naming both."""
    from locust import User

    path = Path(locustfile).resolve()
    if not path.is_file():
        raise UsageError(f"locustfile {path} does not exist (load.locustfile is relative to the contract)")
    module_name = f"obsconf_locustfile_{path.stem}_{abs(hash(str(path))):x}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise UsageError(f"cannot import the locustfile {path}")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.parent))
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - a user's file: any error becomes a usage error naming it
            raise UsageError(f"importing the locustfile {path} failed: {type(exc).__name__}: {exc}") from exc
        finally:
            sys.path.remove(str(path.parent))
        sys.modules[module_name] = module
    found = getattr(module, name, None)
    classes = sorted(k for k, v in vars(module).items()
                     if isinstance(v, type) and issubclass(v, User) and not v.__dict__.get("abstract", False)
                     and v.__module__ == module.__name__)
    if not (isinstance(found, type) and issubclass(found, User)) or found.__dict__.get("abstract", False):
        raise UsageError(f"locustfile {path} has no user class {name!r} (load.user_class); it defines: "
                         f"{', '.join(classes) or 'none'}")
    return found


class Recorder:
    """Keeps one record (a small JSON-able dict) per request Locust reports; a worker drains them into its
    reports to the master, a local run keeps them all."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def on_request(self, request_type: str, name: str, response_time: float, response_length: int,
                   **event: Any) -> None:
        """Locust's ``request`` event; ``event`` holds its other arguments (response, context, exception,
        start_time, url, ...)."""
        response, exception = event.get("response"), event.get("exception")
        status = getattr(response, "status_code", 0) or 0
        raw = getattr(response, "headers", None) or {}
        try:
            headers = {str(k).lower(): str(v) for k, v in raw.items()}
        except AttributeError:
            headers = {}
        self.records.append({
            "m": request_type, "n": name, "u": event.get("url") or name, "s": int(status),
            "ms": float(response_time or 0.0), "t": float(event.get("start_time") or 0.0),
            "tid": (event.get("context") or {}).get(TRACE_KEY, ""), "h": headers,
            "e": "" if exception is None else f"{type(exception).__name__}: {exception}"[:200],
        })

    def drain(self) -> list[dict[str, Any]]:
        out, self.records = self.records, []
        return out


def as_exchange(record: dict[str, Any]) -> HttpExchange:
    """A request record as the :class:`HttpExchange` the checks read (no body is kept under load)."""
    return HttpExchange(method=record["m"], url=record["u"], status=record["s"], headers=record["h"],
                        body=record["e"], elapsed_ms=record["ms"], sent_at_ns=int(record["t"] * 1e9),
                        trace_id=record["tid"])

