"""What the obsconf plugin reads from pytest's configuration: its command-line options and ini settings (each
registered here), the session's Settings, the stack mode, the load options, the report directory, and the
progress line writer. :mod:`obsconf.plugin` stays the one module users see; it calls these."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from obsconf.errors import UsageError
from obsconf.settings import (
    DEFAULT_PROMETHEUS_VERSION,
    ENV_PROMETHEUS_VERSION,
    ENV_STACK,
    IMAGE_BACKENDS,
    IMAGE_SOURCES,
    PROMETHEUS_VERSIONS,
    STACK_MODES,
    Settings,
    image_env_var,
)

#: fault scenarios on fresh instances run this many at a time: they mostly wait (outages, drains), and four
#: reference instances under their scenarios' load leave the two cores of a CI runner room (docs/ARCHITECTURE.md)
DEFAULT_FAULT_WORKERS = 4

_EXTERNAL_OPTIONS = (
    # (option suffix, Settings.external key, help)
    ("jaeger-url", "jaeger", "Jaeger query base URL (external stack), env OBSCONF_JAEGER_URL"),
    ("otlp-url", "otlp_http", "OTLP/HTTP base URL where the target sends spans, env OBSCONF_OTLP_HTTP_URL"),
    ("prometheus-url", "prometheus", "Prometheus base URL, env OBSCONF_PROMETHEUS_URL"),
    ("loki-url", "loki", "Grafana Loki base URL (push + LogQL), env OBSCONF_LOKI_URL"),
    ("pocketbase-url", "pocketbase", "PocketBase base URL, env OBSCONF_POCKETBASE_URL"),
    ("pocketbase-admin", "pocketbase_admin", "PocketBase superuser as email:password, env OBSCONF_POCKETBASE_ADMIN"),
    ("toxiproxy-url", "toxiproxy", "Toxiproxy API URL, env OBSCONF_TOXIPROXY_URL"),
    ("loki-dialect", "loki_dialect", "query language of --obsconf-loki-url: logql (Grafana Loki, default) or "
                                     "logsql (VictoriaLogs' Loki-compatible push), env OBSCONF_LOKI_DIALECT"),
)


def add_options(parser: pytest.Parser) -> None:
    """Register every ``--obsconf-*`` option and ``obsconf_*`` ini setting."""
    group = parser.getgroup("obsconf", "observability conformance (obsconf)")
    group.addoption("--obsconf-contract", action="append", default=None, metavar="PATH",
                    help="contract YAML to check (repeatable); its cases are collected like tests. Files named "
                         "*.obsconf.yaml are collected anyway, and so is any YAML file given as a path argument")
    parser.addini("obsconf_contracts", "contract files checked when --obsconf-contract is not given", type="paths",
                  default=[])
    group.addoption("--obsconf-target-cmd", default=None, metavar="CMD",
                    help="start your service with CMD ({port} becomes a free 127.0.0.1 port) instead of the "
                         "contract's service.command; obsconf gives it the standard OTEL_*/LOKI_* variables")
    group.addoption("--obsconf-target", default=None, metavar="URL",
                    help="check the service already running at URL (obsconf cannot inject its faults then)")
    group.addoption("--obsconf-stack", choices=STACK_MODES, default=None,
                    help="how to run the backends: auto (attach to `obsconf stack up` if it runs, else containers "
                         "if an engine answers, else processes), process, container, attach, external (URLs below). "
                         "Env OBSCONF_STACK, ini obsconf_stack. Default auto.")
    parser.addini("obsconf_stack", "default for --obsconf-stack", default="auto")
    group.addoption("--obsconf-ready-timeout", type=float, default=None, metavar="SECONDS",
                    help="seconds to wait for each backend to become ready (env OBSCONF_READY_TIMEOUT, default 30)")
    group.addoption("--obsconf-report-dir", default=None, metavar="DIR",
                    help="where the run summary (JSON, Markdown) and the services' output go (ini obsconf_report_dir, "
                         "default: reports)")
    parser.addini("obsconf_report_dir", "default for --obsconf-report-dir", default="reports")
    group.addoption("--obsconf-fault-workers", type=int, default=None, metavar="N",
                    help="fault scenarios that run on a fresh instance of the service run N at a time (ini "
                         f"obsconf_fault_workers, default {DEFAULT_FAULT_WORKERS}; 1 runs them one by one)")
    parser.addini("obsconf_fault_workers", "default for --obsconf-fault-workers", default=str(DEFAULT_FAULT_WORKERS))
    for suffix, _key, help_text in _EXTERNAL_OPTIONS:
        group.addoption(f"--obsconf-{suffix}", default=None, help=help_text)
    _add_load_options(parser, group)
    group.addoption("--obsconf-images", choices=IMAGE_SOURCES, default=None,
                    help="container stack: auto (local obsconf images if built, else official), local, official "
                         "(env OBSCONF_IMAGES)")
    for backend in IMAGE_BACKENDS:
        group.addoption(f"--obsconf-image-{backend}", default=None, metavar="IMAGE",
                        help=f"container image for {backend} (env {image_env_var(backend)})")
    group.addoption("--obsconf-prometheus-version", choices=PROMETHEUS_VERSIONS, default=None,
                    help="Prometheus release the stack and the promtool checks run: 3.16 (default) or 2.42 "
                         f"(Debian's, the fallback). Env {ENV_PROMETHEUS_VERSION}, ini obsconf_prometheus_version.")
    parser.addini("obsconf_prometheus_version", "default for --obsconf-prometheus-version", default="")


#: the load options: (option suffix, ini name, type, help)
_LOAD_OPTIONS = (
    ("users", "obsconf_load_users", int, "Locust users (default: the contract's load.users)"),
    ("spawn-rate", "obsconf_load_spawn_rate", float, "users started per second (default: load.spawn_rate)"),
    ("seconds", "obsconf_load_seconds", float, "how long the load runs (default: load.seconds)"),
    ("workers", "obsconf_load_workers", int, "run Locust distributed: a master in pytest and N worker processes "
                                             "on 127.0.0.1 (default 0: one local runner)"),
    ("remote-workers", "obsconf_load_remote_workers", int, "also wait for N workers started by hand, e.g. on other "
                                                           "machines through an SSH tunnel (python -m "
                                                           "obsconf.load.worker ...)"),
    ("master-port", "obsconf_load_master_port", int, "the Locust master's port on 127.0.0.1 (default: a free one)"),
)
LOAD_MODES = ("off", "locust")


def _add_load_options(parser: pytest.Parser, group: Any) -> None:
    group.addoption("--obsconf-load", choices=LOAD_MODES, default=None,
                    help="locust: each contract's Locust user class (its 'load' section) drives the service, every "
                         "case reads what that load produced, and the signals are accounted per route "
                         "(ini obsconf_load, default off)")
    parser.addini("obsconf_load", "default for --obsconf-load", default="off")
    for suffix, ini, kind, help_text in _LOAD_OPTIONS:
        group.addoption(f"--obsconf-load-{suffix}", type=kind, default=None, metavar="N", help=help_text)
        parser.addini(ini, f"default for --obsconf-load-{suffix}", default="")


def _load_value(config: pytest.Config, suffix: str, ini: str, kind: type) -> Any:
    value = config.getoption(f"--obsconf-load-{suffix}")
    if value is None and str(config.getini(ini)).strip():
        try:
            value = kind(str(config.getini(ini)).strip())
        except ValueError:
            raise pytest.UsageError(f"ini {ini} = {config.getini(ini)!r} is not a number") from None
    if value is not None and value < 0:
        raise pytest.UsageError(f"--obsconf-load-{suffix} {value} must not be negative")
    return value


def load_mode(config: pytest.Config) -> str:
    mode = config.getoption("--obsconf-load") or str(config.getini("obsconf_load")).strip() or "off"
    if mode not in LOAD_MODES:
        raise pytest.UsageError(f"ini obsconf_load = {mode!r}: use one of {', '.join(LOAD_MODES)}")
    return mode


def load_options(config: pytest.Config) -> Any:
    """The session's :class:`obsconf.load.runner.LoadOptions`, or None without ``--obsconf-load locust``."""
    values = {suffix: _load_value(config, suffix, ini, kind) for suffix, ini, kind, _ in _LOAD_OPTIONS}
    if load_mode(config) != "locust":
        given = [f"--obsconf-load-{k}" for k, v in values.items() if v is not None]
        if given:
            raise pytest.UsageError(f"{', '.join(given)} set(s) the load, which runs only with --obsconf-load locust: "
                                    "add it")
        return None
    from obsconf.load.runner import LoadOptions

    return LoadOptions(users=values["users"] or None, spawn_rate=values["spawn-rate"] or None,
                       seconds=values["seconds"] or None, workers=values["workers"] or 0,
                       remote_workers=values["remote-workers"] or 0, master_port=values["master-port"] or 0)


def configured_contracts(config: pytest.Config) -> list[Path]:
    """Contracts named by --obsconf-contract, else by the ``obsconf_contracts`` ini setting."""
    given = config.getoption("--obsconf-contract") or []
    paths = [Path(p) for p in given] or [Path(p) for p in config.getini("obsconf_contracts")]
    for path in paths:
        if not path.is_file():
            raise pytest.UsageError(f"--obsconf-contract {path}: no such file")
    return paths


def stack_mode(config: pytest.Config) -> str:
    return config.getoption("--obsconf-stack") or os.environ.get(ENV_STACK) or str(config.getini("obsconf_stack"))


def fault_workers(config: pytest.Config) -> int:
    """How many fresh-instance fault scenarios run at a time (option over ini); a UsageError below 1."""
    raw = config.getoption("--obsconf-fault-workers")
    if raw is None:
        text = str(config.getini("obsconf_fault_workers")).strip()
        try:
            raw = int(text)
        except ValueError:
            raise UsageError(f"ini obsconf_fault_workers = {text!r} is not a whole number; give e.g. 4") from None
    if raw < 1:
        raise UsageError(f"--obsconf-fault-workers {raw}: give 1 (one scenario at a time) or more")
    return int(raw)


def report_dir(config: pytest.Config) -> Path:
    out = Path(config.getoption("--obsconf-report-dir") or config.getini("obsconf_report_dir"))
    return out if out.is_absolute() else config.rootpath / out


def settings_from_config(config: pytest.Config) -> Settings:
    """The session's Settings: command-line options over OBSCONF_* env vars over defaults."""
    base = Settings.from_env()
    external = dict(base.external)
    for suffix, key, _ in _EXTERNAL_OPTIONS:
        value = config.getoption(f"--obsconf-{suffix}")
        if value:
            external[key] = value
    images = dict(base.images)
    for backend in IMAGE_BACKENDS:
        value = config.getoption(f"--obsconf-image-{backend}")
        if value:
            images[backend] = value
    return Settings.from_env(stack=stack_mode(config), external=external, images=images,
                             image_source=config.getoption("--obsconf-images"),
                             ready_timeout=config.getoption("--obsconf-ready-timeout"),
                             prometheus_version=prometheus_version(config))


def progress_writer(config: pytest.Config) -> Callable[[str], None]:
    """Progress lines on the terminal, shown at once even while a test's output is captured."""
    import threading
    from contextlib import nullcontext

    # fault scenarios side by side report from several threads: one line at a time, or lines run together
    # (suspending pytest's capture is not safe from two threads at once either)
    lock = threading.Lock()

    def say(line: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        capman = config.pluginmanager.get_plugin("capturemanager")
        with lock, capman.global_and_fixture_disabled() if capman is not None else nullcontext():
            reporter.write_line(f"[obsconf] {line}")

    return say


def prometheus_version(config: pytest.Config) -> str:
    return (config.getoption("--obsconf-prometheus-version") or os.environ.get(ENV_PROMETHEUS_VERSION)
            or str(config.getini("obsconf_prometheus_version")) or DEFAULT_PROMETHEUS_VERSION)
