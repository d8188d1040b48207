"""Drive a target service with a contract's workload steps, over loopback only.

Each step repetition is one request and one :class:`~obsconf.model.HttpExchange`, returned in order, so
checks can pair steps with exchanges (see :func:`obsconf.workload.plan.expand_steps`).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from obsconf.contract.model import EmitStep, Step
from obsconf.errors import TargetUnreachable, UsageError
from obsconf.model import HttpExchange
from obsconf.workload.plan import expand_steps
from obsconf.workload.tracecontext import TRACEPARENT, header_value, new_traceparent

__all__ = ["DEFAULT_TIMEOUT_S", "ensure_loopback", "expand_steps", "new_traceparent", "run_workload"]

DEFAULT_TIMEOUT_S = 10.0


def ensure_loopback(base_url: str) -> None:
    """Refuse any target that is not on this machine's loopback (127.0.0.0/8, ::1, localhost)."""
    host = urlsplit(base_url).hostname
    if host is None:
        raise UsageError(f"target URL {base_url!r} has no host; use e.g. http://127.0.0.1:8000")
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(f"target URL {base_url!r} is not a loopback address; obsconf only drives 127.0.0.1 or ::1")


def _substitute(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in variables.items():
            value = value.replace("{" + name + "}", replacement)
        return value
    if isinstance(value, dict):
        return {k: _substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, variables) for v in value]
    return value


def _body(response: requests.Response) -> Any:
    if "json" in response.headers.get("content-type", ""):
        try:
            return response.json()
        except ValueError:
            return response.text
    return response.text


def run_workload(
    base_url: str,
    steps: Sequence[Step],
    session: requests.Session | None = None,
    *,
    variables: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    propagate: bool = True,
    auth: Callable[[str], Mapping[str, str]] | None = None,
) -> list[HttpExchange]:
    """Send every step (each ``repeat`` times) to ``base_url`` and return the exchanges in order.

    ``{name}`` placeholders in paths, headers and JSON bodies are replaced from ``variables``
    (e.g. ``run_id`` to keep snapshot keys unique per run). With ``propagate`` each request carries a
    fresh sampled W3C ``traceparent`` (unless the step sets one) whose trace id the exchange records;
    without it the service's own sampler decides. ``auth(path)`` gives headers (a bearer token) for paths
    behind authentication; a step's own headers win. Raises TargetUnreachable naming the URL when
    the service cannot be reached, UsageError for a non-loopback ``base_url``."""
    ensure_loopback(base_url)
    base = base_url.rstrip("/")
    variables = dict(variables or {})
    own = session is None
    http = session or requests.Session()
    exchanges: list[HttpExchange] = []
    try:
        for step in expand_steps(steps):
            headers: dict[str, str] = {}
            if isinstance(step, EmitStep):
                method = "POST"
                url = f"{base}{step.path}?{urlencode({'n': step.n, 'level': step.level})}"
                headers = dict(auth(step.path)) if auth else {}
                kwargs: dict[str, Any] = {}
            else:
                method = step.method
                path = _substitute(step.path, variables)
                url = base + path
                headers = {**(auth(path) if auth else {}), **_substitute(dict(step.headers), variables)}
                kwargs = {}
                if step.json is not None:
                    kwargs["json"] = _substitute(step.json, variables)
            trace_id = ""
            if propagate and header_value(headers, TRACEPARENT) is None:
                headers[TRACEPARENT], trace_id = new_traceparent()
            kwargs["headers"] = headers
            sent = time.time_ns()
            start = time.perf_counter()
            try:
                response = http.request(method, url, timeout=timeout, **kwargs)
            except requests.ConnectionError as exc:
                raise TargetUnreachable(
                    f"cannot connect to the target at {url}: {exc.__class__.__name__}; is the service running and "
                    "listening on that port?"
                ) from exc
            except requests.Timeout as exc:
                raise TargetUnreachable(f"the target at {url} did not answer within {timeout:g} s") from exc
            elapsed = (time.perf_counter() - start) * 1000.0
            exchanges.append(
                HttpExchange(
                    method=method,
                    url=url,
                    status=response.status_code,
                    headers=dict(response.headers),
                    body=_body(response),
                    elapsed_ms=elapsed,
                    sent_at_ns=sent,
                    trace_id=trace_id,
                )
            )
    finally:
        if own:
            http.close()
    return exchanges
