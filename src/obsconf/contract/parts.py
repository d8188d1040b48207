"""Parts that several contract sections share: workload steps, typed values, status lists, a fault on a
dependency, a ``semconv`` switch, a named metric with its selector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any, TypeVar

from obsconf.contract import model
from obsconf.contract.document import Doc, PathT, compile_regex, format_path

SpecT = TypeVar("SpecT")


def statuses(value: Any) -> tuple[int, ...]:
    if value is None:
        return (200,)
    return tuple(value) if isinstance(value, list) else (int(value),)


def steps(doc: Doc, items: list[dict[str, Any]], base: PathT) -> tuple[model.Step, ...]:
    steps: list[model.Step] = []
    for i, item in enumerate(items):
        path = base + (i,)
        kinds = [k for k in ("request", "emit") if k in item]
        if len(kinds) != 1:
            given = ", ".join(sorted(k for k in item if k != "name")) or "nothing"
            raise doc.error(path, f"unknown step kind ({given}); give exactly one of 'request' or 'emit'")
        name = item.get("name", "")
        body = item[kinds[0]]
        loc = doc.loc(path)
        if kinds[0] == "request":
            steps.append(
                model.RequestStep(
                    method=body["method"],
                    path=body["path"],
                    json=body.get("json"),
                    headers=dict(body.get("headers", {})),
                    repeat=body.get("repeat", 1),
                    expect_status=statuses(body.get("expect_status")),
                    name=name,
                    loc=loc,
                )
            )
        else:
            steps.append(
                model.EmitStep(
                    n=body["n"],
                    level=body.get("level", "INFO"),
                    path=body.get("path", "/logs/emit"),
                    expect_status=statuses(body.get("expect_status")),
                    name=name,
                    loc=loc,
                )
            )
    return tuple(steps)


def semconv(doc: Doc, raw: Any, path: PathT) -> model.SemconvSpec:
    """``true``/absent: on; ``{enabled: false, reason}``: off, with the reason the reports show."""
    loc = f"{doc.where(path)} {format_path(path)}"
    if raw is None or raw is True:
        return model.SemconvSpec(enabled=True, loc=loc)
    if raw["enabled"]:
        if "reason" in raw:
            raise doc.error(path + ("reason",), "a reason is only read when 'enabled' is false; remove it")
        return model.SemconvSpec(enabled=True, loc=loc)
    return model.SemconvSpec(enabled=False, reason=raw["reason"], loc=loc)


def typed_values(doc: Doc, raw: dict[str, Any], base: PathT) -> tuple[model.AttributeSpec, ...]:
    """``{name: type}`` or ``{name: {type, equals?, pattern?}}`` -> AttributeSpecs (patterns compiled)."""
    out = []
    for name, spec in raw.items():
        apath = base + (name,)
        if isinstance(spec, str):
            out.append(model.AttributeSpec(name=name, type=spec, loc=doc.loc(apath)))
            continue
        pattern = spec.get("pattern")
        if pattern is not None:
            compile_regex(doc, apath + ("pattern",), pattern)
        out.append(model.AttributeSpec(name=name, type=spec["type"], equals=spec.get("equals"), pattern=pattern,
                                       loc=doc.loc(apath)))
    return tuple(out)


def fault_spec(doc: Doc, raw: dict[str, Any], path: PathT,
               dependencies: Sequence[model.DependencySpec]) -> model.FaultSpec:
    names = [d.name for d in dependencies]
    if raw["dependency"] not in names:
        raise doc.error(path + ("dependency",), f"no dependency {raw['dependency']!r} in service.dependencies "
                        f"(declared: {', '.join(names) or 'none'}); declare it there so obsconf can put it behind "
                        "a Toxiproxy proxy")
    return model.FaultSpec(dependency=raw["dependency"], mode=raw["mode"], attributes=dict(raw.get("attributes", {})),
                           loc=doc.loc(path))


def selected(raw: dict[str, Any] | None) -> tuple[str | None, dict[str, str]]:
    return (raw["name"], dict(raw.get("selector", {}))) if raw else (None, {})


def names(raw: str | list[str] | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if raw is None:
        return default
    return (raw,) if isinstance(raw, str) else tuple(raw)


def spec_from(cls: type[SpecT], raw: Mapping[str, Any], **given: Any) -> SpecT:
    """The frozen spec ``cls`` from its contract mapping: each field the mapping names (a list as a tuple, a
    mapping copied), the model's default for every other field, so a default is written once, in the model.
    ``given`` sets the fields the loader computes (``loc``, compiled or nested parts) and those a key names
    otherwise."""
    values: dict[str, Any] = {}
    for spec_field in fields(cls):
        if spec_field.name in given:
            values[spec_field.name] = given[spec_field.name]
        elif spec_field.name in raw:
            value = raw[spec_field.name]
            values[spec_field.name] = tuple(value) if isinstance(value, list) else (
                dict(value) if isinstance(value, dict) else value)
    return cls(**values)
