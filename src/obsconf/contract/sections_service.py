"""The ``service`` section of a contract: how to start it, its dependencies, listeners and bearer token."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from obsconf.contract import model
from obsconf.contract.command import parse_command
from obsconf.contract.document import Doc, PathT
from obsconf.contract.parts import spec_from
from obsconf.errors import UsageError


def command_argv(doc: Doc, raw: str | list[str] | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    try:
        return parse_command(raw)
    except UsageError as exc:
        raise doc.error(("service", "command"), str(exc)) from None


def dependency_specs(doc: Doc, raw: list[dict[str, Any]]) -> tuple[model.DependencySpec, ...]:
    out: list[model.DependencySpec] = []
    for i, dep in enumerate(raw):
        path: PathT = ("service", "dependencies", i)
        for key in ("name", "env"):
            if any(getattr(d, key) == dep[key] for d in out):
                raise doc.error(path + (key,), f"two dependencies have the {key} {dep[key]!r}")
        out.append(spec_from(model.DependencySpec, dep, loc=doc.loc(path)))
    return tuple(out)


def auth_section(doc: Doc, svc: dict[str, Any]) -> model.AuthSpec | None:
    raw = svc.get("auth")
    if raw is None:
        return None
    path: PathT = ("service", "auth")
    if raw["env"] in svc.get("env", {}):
        raise doc.error(path + ("env",), f"{raw['env']} is also set in service.env: obsconf generates the token for "
                        "each run; remove it from service.env (a token in a contract file is a leaked secret)")
    for i, guarded in enumerate(raw["paths"]):
        if "*" in guarded[:-1] or (guarded.endswith("*") and not guarded.endswith("/*")):
            raise doc.error(path + ("paths", i), f"{guarded!r}: use an exact path or a prefix ending in '/*'")
    return spec_from(model.AuthSpec, raw, loc=doc.loc(path))


def listener_specs(doc: Doc, raw: list[dict[str, Any]],
                   dependencies: Sequence[model.DependencySpec]) -> tuple[model.ListenerSpec, ...]:
    out: list[model.ListenerSpec] = []
    taken = {d.env for d in dependencies}
    for i, item in enumerate(raw):
        path: PathT = ("service", "listeners", i)
        if any(x.name == item["name"] for x in out):
            raise doc.error(path + ("name",), f"two listeners are named {item['name']!r}")
        if item["env"] in taken:
            raise doc.error(path + ("env",), f"variable {item['env']} is already given to another listener or "
                            "dependency")
        taken.add(item["env"])
        out.append(spec_from(model.ListenerSpec, item, loc=doc.loc(path)))
    return tuple(out)


def service_section(doc: Doc, svc: dict[str, Any]) -> model.ServiceSpec:
    """The ``service`` section: its command, environment, dependencies, listeners and token."""
    dependencies = dependency_specs(doc, svc.get("dependencies", []))
    listeners = listener_specs(doc, svc.get("listeners", []), dependencies)
    service = model.ServiceSpec(
        name=svc["name"],
        profile=svc.get("profile"),
        command=command_argv(doc, svc.get("command")),
        cwd=(doc.file.parent / svc["cwd"]).resolve() if "cwd" in svc else None,
        metrics_path=svc.get("metrics_path", "/metrics"),
        ready_path=svc.get("ready_path"),
        ready_timeout=float(svc.get("ready_timeout", 30.0)),
        slo_path=svc.get("slo_path"),
        env={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in svc.get("env", {}).items()},
        dependencies=dependencies,
        listeners=listeners,
        loc=doc.loc(("service",)),
        auth=auth_section(doc, svc),
    )
    if service.cwd is not None and not service.cwd.is_dir():
        raise doc.error(("service", "cwd"), f"directory {service.cwd} does not exist (relative to the contract)")
    return service
