"""OpenTelemetry semantic conventions as lookup tables, read from the pinned ``opentelemetry-semantic-conventions``.

The package carries every attribute and metric name as a constant whose docstring holds the deprecation note
("Deprecated: Replaced by `http.response.status_code`.") and every metric's ``create_*`` helper names its
instrument and unit. We read those from the package's source with :mod:`ast` once, on first use, so the
tables follow the pinned version instead of a list kept by hand. Two things the package does not carry are
kept here, each small and checked against the package by a test: the value types of the stable attributes,
and the Prometheus unit words of UCUM units (the OpenTelemetry-to-Prometheus naming rules).
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

#: The PyPI distribution the tables come from (pinned in pyproject.toml).
DISTRIBUTION = "opentelemetry-semantic-conventions"

# Value types of the stable attributes (``opentelemetry.semconv.attributes``): the Python package has no type
# information. tests/checks/test_semconv.py fails when the pinned package gains or drops a stable attribute.
STABLE_ATTRIBUTE_TYPES: dict[str, str] = {
    "client.address": "string", "client.port": "int",
    "code.column.number": "int", "code.file.path": "string", "code.function.name": "string",
    "code.line.number": "int", "code.stacktrace": "string",
    "container.id": "string", "container.image.name": "string", "container.image.repo_digests": "string[]",
    "container.image.tags": "string[]",
    "db.collection.name": "string", "db.namespace": "string", "db.operation.batch.size": "int",
    "db.operation.name": "string", "db.query.summary": "string", "db.query.text": "string",
    "db.response.status_code": "string", "db.stored_procedure.name": "string", "db.system.name": "string",
    "deployment.environment.name": "string",
    "error.type": "string",
    "exception.escaped": "boolean", "exception.message": "string", "exception.stacktrace": "string",
    "exception.type": "string",
    "http.request.header": "string[]", "http.request.method": "string", "http.request.method_original": "string",
    "http.request.resend_count": "int", "http.response.header": "string[]", "http.response.status_code": "int",
    "http.route": "string",
    # Kubernetes: every k8s.* attribute is a string (labels and annotations: the value) but one counter
    "k8s.container.restart_count": "int",
    "k8s.cluster.name": "string", "k8s.cluster.uid": "string", "k8s.container.name": "string",
    "k8s.cronjob.annotation": "string", "k8s.cronjob.label": "string", "k8s.cronjob.name": "string",
    "k8s.cronjob.uid": "string", "k8s.daemonset.annotation": "string", "k8s.daemonset.label": "string",
    "k8s.daemonset.name": "string", "k8s.daemonset.uid": "string", "k8s.deployment.annotation": "string",
    "k8s.deployment.label": "string", "k8s.deployment.name": "string", "k8s.deployment.uid": "string",
    "k8s.job.annotation": "string", "k8s.job.label": "string", "k8s.job.name": "string",
    "k8s.job.uid": "string", "k8s.namespace.annotation": "string", "k8s.namespace.label": "string",
    "k8s.namespace.name": "string", "k8s.node.annotation": "string", "k8s.node.label": "string",
    "k8s.node.name": "string", "k8s.node.uid": "string", "k8s.pod.annotation": "string",
    "k8s.pod.hostname": "string", "k8s.pod.ip": "string", "k8s.pod.label": "string", "k8s.pod.name": "string",
    "k8s.pod.start_time": "string", "k8s.pod.uid": "string", "k8s.replicaset.annotation": "string",
    "k8s.replicaset.label": "string", "k8s.replicaset.name": "string", "k8s.replicaset.uid": "string",
    "k8s.statefulset.annotation": "string", "k8s.statefulset.label": "string", "k8s.statefulset.name": "string",
    "k8s.statefulset.uid": "string",
    "network.local.address": "string", "network.local.port": "int", "network.peer.address": "string",
    "network.peer.port": "int", "network.protocol.name": "string", "network.protocol.version": "string",
    "network.transport": "string", "network.type": "string",
    "otel.event.name": "string", "otel.scope.name": "string", "otel.scope.version": "string",
    "otel.status_code": "string", "otel.status_description": "string",
    "server.address": "string", "server.port": "int",
    "service.instance.id": "string", "service.name": "string", "service.namespace": "string",
    "service.version": "string",
    "telemetry.distro.name": "string", "telemetry.distro.version": "string", "telemetry.sdk.language": "string",
    "telemetry.sdk.name": "string", "telemetry.sdk.version": "string",
    "url.fragment": "string", "url.full": "string", "url.path": "string", "url.query": "string",
    "url.scheme": "string",
    "user_agent.original": "string",
}

# UCUM unit -> the word an OpenTelemetry-to-Prometheus translation appends to the metric name (OpenTelemetry
# spec, "Prometheus and OpenMetrics compatibility"). Annotations such as ``{request}`` add no word.
UNIT_WORDS: dict[str, str] = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds", "us": "microseconds",
    "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
    "TiBy": "tebibytes", "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
    "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams", "Cel": "celsius",
    "Hz": "hertz", "%": "percent", "1": "ratio",
}

_INSTRUMENTS = {
    "create_counter": "counter", "create_observable_counter": "counter",
    "create_up_down_counter": "updowncounter", "create_observable_up_down_counter": "updowncounter",
    "create_histogram": "histogram", "create_gauge": "gauge", "create_observable_gauge": "gauge",
}
# A note names one replacement only in these shapes; "Replaced by `a` on client spans and `b` on ..." names none.
_REPLACEMENT = re.compile(r"^(?:Replaced by|Use) `([^`]+)`(?: instead)?(?:\.$|, which | with unit )")
_DOC_FIELD = re.compile(r"^(Instrument|Unit): (\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class Deprecation:
    """A deprecated name, the package's note on it, and its single replacement where the note names one."""

    name: str
    note: str
    replacement: str | None = None


@dataclass(frozen=True)
class MetricConvention:
    """A metric of the conventions: its instrument (counter, updowncounter, histogram, gauge) and UCUM unit."""

    name: str
    instrument: str
    unit: str
    deprecation: Deprecation | None = None

    @property
    def unit_word(self) -> str:
        """The Prometheus unit word (``seconds``), "" for annotations like ``{request}``."""
        if "/" in self.unit:
            num, _, den = self.unit.partition("/")
            words = UNIT_WORDS.get(num), UNIT_WORDS.get(den.strip("{}"), den)
            return f"{words[0]}_per_{words[1]}" if words[0] else ""
        return UNIT_WORDS.get(self.unit, "")

    @property
    def prometheus_base(self) -> str:
        """The name without unit word and ``_total``: ``http.server.request.duration`` -> ``http_server_request_duration``."""
        return prometheus_escape(self.name)

    @property
    def prometheus_name(self) -> str:
        """The name a Prometheus exporter exposes: base, unit word, ``_total`` for counters."""
        name = self.prometheus_base
        word = self.unit_word
        if word and word != "ratio" and not name.endswith("_" + word):
            name += "_" + word
        return name + "_total" if self.instrument == "counter" else name

    @property
    def prometheus_type(self) -> str:
        return {"updowncounter": "gauge"}.get(self.instrument, self.instrument)


@dataclass(frozen=True)
class Conventions:
    """The tables the semconv checks use; built by :func:`load_conventions` from the installed package."""

    version: str  # "opentelemetry-semantic-conventions 0.66b2 (schema 1.44.0)"
    deprecated_attributes: dict[str, Deprecation]
    attribute_types: dict[str, str]  # name -> string | int | double | boolean | string[] | ...
    metrics: dict[str, MetricConvention]  # OpenTelemetry name -> convention (deprecated ones included)
    stable_attributes: frozenset[str]


def prometheus_escape(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_:]", "_", name)


def _constants(tree: ast.Module) -> list[tuple[str, str, str]]:
    """(CONSTANT, "value", docstring) for every ``NAME: Final = "value"`` followed by a string literal."""
    out = []
    body = tree.body
    for i, node in enumerate(body):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            continue
        doc = ""
        nxt = body[i + 1] if i + 1 < len(body) else None
        if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
            doc = nxt.value.value.strip()
        out.append((node.target.id, node.value.value, doc))
    return out


def _enum_types(tree: ast.Module) -> dict[str, str]:
    """``HttpRequestMethodValues`` -> "string" (or "int" when every member is an integer)."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.endswith("Values"):
            values = [s.value.value for s in node.body
                      if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)]
            if values:
                out[node.name] = "int" if all(isinstance(v, int) for v in values) else "string"
    return out


def _deprecation(name: str, doc: str) -> Deprecation | None:
    """The deprecation a docstring states. Not deprecated: the incubating copies of stable names ("Deprecated
    in favor of stable ...") and names moved to another conventions repository (GenAI), which live on there."""
    if not doc.startswith("Deprecated:"):
        return None
    note = doc.removeprefix("Deprecated:").strip().split("\n\n")[0].replace("\n", " ")
    if note.startswith("Moved to"):
        return None
    match = _REPLACEMENT.match(note)
    return Deprecation(name, note, match.group(1) if match else None)


def _instruments(tree: ast.Module, constants: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Metric name -> (instrument, unit) from each ``meter.create_x(name=CONST, unit="s")`` call."""
    out = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in _INSTRUMENTS):
            continue
        kw = {k.arg: k.value for k in node.keywords}
        name_node, unit_node = kw.get("name"), kw.get("unit")
        if isinstance(name_node, ast.Name) and name_node.id in constants:
            unit = unit_node.value if isinstance(unit_node, ast.Constant) else ""
            out[constants[name_node.id]] = (_INSTRUMENTS[node.func.attr], str(unit))
    return out


def _camel(constant: str) -> str:
    return "".join(part.capitalize() for part in constant.split("_")) + "Values"


def _schema_version(root: Path) -> str:
    text = (root / "schemas.py").read_text(encoding="utf-8")
    versions = re.findall(r"/schemas/(\d+)\.(\d+)\.(\d+)\"", text)
    return ".".join(max(versions, key=lambda v: tuple(int(x) for x in v))) if versions else "?"


@functools.cache
def load_conventions() -> Conventions:
    """Read the installed package once per process (about 0.1 s) and return its tables."""
    import opentelemetry.semconv as package

    root = Path(package.__file__).resolve().parent
    deprecated: dict[str, Deprecation] = {}
    types: dict[str, str] = {}
    metrics: dict[str, MetricConvention] = {}
    stable: set[str] = set()
    for folder in ("attributes", "_incubating/attributes"):
        for path in sorted((root / folder).glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            enums = _enum_types(tree)
            for const, name, doc in _constants(tree):
                if folder == "attributes":
                    stable.add(name)
                dep = _deprecation(name, doc)
                if dep is not None:
                    deprecated.setdefault(name, dep)
                if _camel(const) in enums:
                    types.setdefault(name, enums[_camel(const)])
    # the stable types override enum guesses; the stable table is complete (a test proves it)
    types.update({k: v for k, v in STABLE_ATTRIBUTE_TYPES.items() if k in stable})
    for folder in ("metrics", "_incubating/metrics"):
        for path in sorted((root / folder).glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            consts = _constants(tree)
            instruments = _instruments(tree, {c: n for c, n, _ in consts})
            for _const, name, doc in consts:
                if name in metrics or doc.startswith("Deprecated in favor of stable"):
                    continue
                # stable modules state instrument and unit in the docstring, incubating ones in create_*()
                fields = dict(_DOC_FIELD.findall(doc))
                instrument, unit = instruments.get(name, (fields.get("Instrument", ""), fields.get("Unit", "")))
                metrics[name] = MetricConvention(name, instrument, unit, _deprecation(name, doc))
    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = "?"
    return Conventions(
        version=f"{DISTRIBUTION} {version} (schema {_schema_version(root)})",
        deprecated_attributes=deprecated,
        attribute_types=types,
        metrics=metrics,
        stable_attributes=frozenset(stable),
    )
