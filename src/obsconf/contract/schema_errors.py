"""JSON Schema validation of a contract, and each jsonschema error turned into one actionable sentence."""

from __future__ import annotations

import jsonschema
from jsonschema import Draft202012Validator

from obsconf.contract.document import Doc, PathT, type_name
from obsconf.contract.kinds import SKIP_KINDS
from obsconf.contract.schema import CONTRACT_SCHEMA
from obsconf.errors import ContractError

VALIDATOR = Draft202012Validator(CONTRACT_SCHEMA)


_JSON_TYPE_WORD = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def explain(error: jsonschema.ValidationError) -> tuple[PathT, str]:
    """Turn a jsonschema error into (path, one actionable sentence)."""
    path: PathT = tuple(error.absolute_path)
    value = error.instance
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(str(k) for k in value if k not in allowed)
        word = "section" if not path else "key"
        return path + (unknown[0],), f"unknown {word} {unknown[0]!r}; allowed {word}s: {', '.join(allowed)}"
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in value)
        if path and path[-1] == "semconv" and missing == "reason":
            return path, "'enabled: false' needs a 'reason' (shown in the reports): why may these names differ?"
        return path, f"missing required key {missing!r}"
    if error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        words = " or ".join(_JSON_TYPE_WORD.get(w, w) for w in wanted)
        return path, f"expected {words}, got {type_name(value)}: {value!r}"
    if error.validator == "enum":
        options = ", ".join(str(o) for o in error.validator_value)
        if path and path[0] == "skip":
            return path, f"unknown check kind {value!r}; known kinds: {', '.join(SKIP_KINDS)}"
        return path, f"{value!r} is not allowed here; use one of: {options}"
    if error.validator == "const":
        return path, f"{value!r} is not supported; this obsconf reads contract version {error.validator_value}"
    if error.validator == "pattern":
        if error.validator_value == "^/":
            return path, f"{value!r} must be a path starting with '/'"
        return path, f"{value!r} does not match {error.validator_value}"
    if error.validator == "anyOf" and path and path[-1] == "semconv" and not isinstance(value, dict):
        return path, (f"{value!r} is not allowed here: write 'semconv: true' (the default), or turn the check off "
                      "with a reason the report shows: 'semconv: {enabled: false, reason: \"...\"}'")
    if error.validator == "anyOf" and error.context:
        # Explain with the alternative meant for this kind of value (a mapping -> the object branch).
        kind = {dict: "object", list: "array"}.get(type(value))
        branches = error.validator_value
        meant = [
            e
            for e in error.context
            if kind is not None and isinstance(branches[e.schema_path[0]], dict)
            and branches[e.schema_path[0]].get("type") == kind
        ]
        best = jsonschema.exceptions.best_match(meant or error.context)
        sub_path, sub = explain(best)
        return path + sub_path[len(path) :] if sub_path[: len(path)] == path else path, sub
    return path, error.message


def first_error(doc: Doc) -> ContractError | None:
    errors = list(VALIDATOR.iter_errors(doc.data))
    if not errors:
        return None
    # The first problem in the file's own order is the one a person fixes first.
    errors.sort(key=lambda e: (doc.line(tuple(e.absolute_path)) or 0, -len(e.absolute_path)))
    path, problem = explain(errors[0])
    return doc.error(path, problem)
