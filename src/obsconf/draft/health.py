"""Draft the ``health`` section: for each path the user named, the status it answered and a JSON Schema
inferred from its bodies (types, and the keys every body had as ``required``)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from obsconf.contract.valuetypes import json_type
from obsconf.draft.yamltext import Block, Entry, Item, Items
from obsconf.model import HttpExchange

# keys whose short word value (ok, up, pass, healthy) is the point of a health body, so the schema pins it
_STATE_KEYS = re.compile(r"^(status|state|health|healthy|ready|live|liveness|readiness)$", re.IGNORECASE)
_WORD = re.compile(r"^[A-Za-z_]{1,16}$")


def _json_type(value: Any) -> str:
    return json_type(value) or "object"


def infer_schema(values: Sequence[Any], key: str = "") -> dict[str, Any]:
    """A JSON Schema every one of ``values`` validates against: the narrowest types, object properties with
    the keys all of them have as ``required``, array items merged; a short status word under a state key
    (``status: ok``) is pinned with ``const``."""
    types = {_json_type(v) for v in values}
    if types == {"integer", "number"}:
        types = {"number"}
    if len(types) != 1:
        return {"type": sorted(types)}
    kind = types.pop()
    schema: dict[str, Any] = {"type": kind}
    if kind == "object":
        keys = list(dict.fromkeys(k for v in values for k in v))
        schema["properties"] = {k: infer_schema([v[k] for v in values if k in v], k) for k in keys}
        required = [k for k in keys if all(k in v for v in values)]
        if required:
            schema["required"] = required
    elif kind == "array":
        items = [item for v in values for item in v]
        if items:
            schema["items"] = infer_schema(items)
    elif kind == "string" and _STATE_KEYS.match(key) and len(set(values)) == 1 and _WORD.match(values[0]):
        schema["const"] = values[0]
    elif kind == "boolean" and _STATE_KEYS.match(key) and len(set(values)) == 1:
        schema["const"] = values[0]
    return schema


def health_section(calls: dict[str, list[HttpExchange]]) -> tuple[Items | None, list[str]]:
    """The ``health`` list for the paths called, and comment lines for the paths that cannot be drafted."""
    items, notes = Items(), []
    for path, exchanges in calls.items():
        if not exchanges:
            continue
        statuses = sorted({x.status for x in exchanges})
        texts = [x for x in exchanges if not isinstance(x.body, dict | list)]
        if texts:
            notes.append(f"health {path}: not drafted, it answered {texts[0].status} with a body that is not JSON "
                         f"({str(texts[0].body)[:40]!r}); the health check reads a JSON body")
            continue
        bodies = [x.body for x in exchanges]
        n = len(exchanges)
        entry = Block([Entry("path", path, f"answered {'/'.join(map(str, statuses))} on {n} of {n} calls, e.g. "
                                           f"{json.dumps(bodies[0])[:60]}")])
        entry.add("expect_status", statuses[0] if len(statuses) == 1 else statuses)
        entry.add("schema", infer_schema(bodies), "inferred from the bodies: tighten it (enum, minimum, ...)")
        items.items.append(Item(entry))
    return (items if items.items else None), notes
