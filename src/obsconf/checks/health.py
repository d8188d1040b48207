"""Pure check of health endpoints: status code and JSON body against the contract's JSON Schema."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import jsonschema
from jsonschema import Draft202012Validator

from obsconf.checks._common import clip
from obsconf.contract.model import HealthSpec
from obsconf.model import Finding, HttpExchange


def _path_of(exchange: HttpExchange) -> str:
    return urlsplit(exchange.url).path or "/"


def _schema_path(error: jsonschema.ValidationError) -> str:
    out = "body"
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def check_health(
    specs: Sequence[HealthSpec], exchanges: Sequence[HttpExchange], *, link: str = ""
) -> list[Finding]:
    """Each health endpoint was called, answered an expected status, and its JSON body fits the schema."""
    if not specs:
        return [Finding("health", "health", "the contract names no health endpoint, so none was checked",
                        expected="health endpoints", actual="none")]
    findings: list[Finding] = []
    for spec in specs:
        where = spec.loc or f"health {spec.path}"
        calls = [x for x in exchanges if _path_of(x) == spec.path and x.method.upper() == spec.method]
        if not calls:
            findings.append(
                Finding(
                    "health",
                    where,
                    f"{spec.method} {spec.path} was never called, so it could not be checked: add it to the workload",
                    expected=f"a {spec.method} {spec.path} exchange",
                    actual=sorted({f'{x.method} {_path_of(x)}' for x in exchanges})[:10],
                )
            )
            continue
        for x in calls:
            query = f"{x.method} {x.url}"
            if x.status not in spec.expect_status:
                findings.append(
                    Finding("health", where, f"{spec.method} {spec.path} answered {x.status}",
                            expected=list(spec.expect_status), actual=x.status, query=query, link=link)
                )
            if isinstance(x.body, str):
                findings.append(
                    Finding("health", where, f"{spec.method} {spec.path} did not answer JSON: {clip(x.body, 120)!r}",
                            expected="a JSON body", actual=f"text ({x.headers.get('content-type', '?')})",
                            query=query, link=link)
                )
                continue
            errors = sorted(Draft202012Validator(spec.schema).iter_errors(x.body), key=lambda e: list(e.absolute_path))
            if errors:
                first = errors[0]
                findings.append(
                    Finding(
                        "health",
                        where,
                        f"{spec.method} {spec.path}: the body does not fit the contract's schema at "
                        f"{_schema_path(first)}: {first.message}"
                        + (f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""),
                        expected=f"{first.validator}: {first.validator_value!r}",
                        actual=clip(repr(first.instance), 120),
                        query=query,
                        link=link,
                    )
                )
    return findings
