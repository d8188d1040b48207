"""Draft the ``metrics`` section from the scrapes before and after the workload: each family of the service
with its type, exact label set, bucket layout and HELP, and the series the workload made grow. Runtime
families (``go_*``, ``process_*``, ``python_*``, ...) are named in a comment, not drafted: they are the
client library's, and a contract about them would mostly test the library."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from obsconf.checks.metrics import find_family
from obsconf.checks.semconv import check_metric_semconv
from obsconf.draft.spans import semconv_entry
from obsconf.draft.yamltext import Block, Comments, Entry, Item, Items
from obsconf.model import Finding, MetricFamily, MetricSample

RUNTIME_PREFIXES = ("go_", "process_", "python_", "promhttp_", "jvm_", "nodejs_", "dotnet_", "ruby_",
                    "erlang_", "node_")
DRAFTED_TYPES = ("counter", "gauge", "histogram", "summary")


@dataclass
class MetricsDraft:
    value: Block | Items | None  # the section: a list of families, or {semconv, families}
    why_not: tuple[str, ...] = ()
    skips: list[tuple[str, str, str]] = field(default_factory=list)  # (check kind, reason, evidence)


def _data(fam: MetricFamily) -> list[MetricSample]:
    return [s for s in fam.samples if not s.name.endswith("_created")]


def _key(sample: MetricSample) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in sample.labels.items() if k not in ("le", "quantile")))


def _growing(fam: MetricFamily, before: MetricFamily | None, avoid: tuple[str, ...] = ()
             ) -> tuple[dict[str, str], float] | None:
    """The series (labels) that grew most during the workload, and by how much; None if none grew. Series
    labelled with a path in ``avoid`` (the metrics and readiness paths, which obsconf itself calls on its own
    schedule) are chosen only when nothing else grew."""
    base = fam.name.removesuffix("_total")
    names = {base + "_total", base} if fam.type == "counter" else {base + "_count"}

    def values(f: MetricFamily | None) -> dict[tuple[tuple[str, str], ...], float]:
        return {_key(s): s.value for s in (f.samples if f else ()) if s.name in names}

    after, earlier = values(fam), values(before)
    growth = {k: v - earlier.get(k, 0.0) for k, v in after.items()}
    grown = [(v, k) for k, v in growth.items() if v > 0]
    if not grown:
        return None
    ours = [(v, k) for v, k in grown if not any(value in avoid for _, value in k)]
    grown = ours or grown
    delta, key = max(grown)
    return dict(key), delta


def _buckets(samples: Sequence[MetricSample]) -> tuple[list[float | str] | None, str]:
    layouts: dict[tuple[tuple[str, str], ...], list[float]] = {}
    for s in samples:
        if s.name.endswith("_bucket") and "le" in s.labels:
            le = s.labels["le"]
            layouts.setdefault(_key(s), []).append(float("inf") if le in ("+Inf", "Inf", "inf") else float(le))
    distinct = {tuple(sorted(v)) for v in layouts.values()}
    if len(distinct) != 1:
        return None, f"buckets: not drafted, {len(distinct)} different layouts across series"
    layout = distinct.pop()
    return [("+Inf" if b == float("inf") else b) for b in layout], f"the same {len(layout)} bounds on {len(layouts)} series"


def _family(fam: MetricFamily, before: MetricFamily | None, avoid: tuple[str, ...]) -> Block:
    samples = _data(fam)
    name = fam.name
    block = Block([Entry("name", name, f"{len(samples)} samples after the workload")])
    block.add("type", fam.type)
    label_sets = {tuple(sorted(set(s.labels) - {"le", "quantile"})) for s in samples}
    series = len({_key(s) for s in samples})
    if len(label_sets) == 1:
        labels = list(next(iter(label_sets)))
        block.add("labels", labels, f"the label set of all {series} series")
    else:
        block.entries.append(Entry("", Comments((f"labels: not drafted, {len(label_sets)} different label sets",))))
        labels = None
    if fam.type == "histogram":
        buckets, evidence = _buckets(samples)
        if buckets is not None:
            block.add("buckets", buckets, evidence)
        else:
            block.entries.append(Entry("", Comments((evidence,))))
    if not fam.help.strip():
        block.add("help", False, "the family has no HELP text (TODO: add one, then drop this line)")
    if fam.type in ("counter", "histogram", "summary"):
        grown = _growing(fam, before, avoid)
        if grown is not None:
            selector, delta = grown
            after = Block([Entry("increases", True, f"+{delta:g} during the workload")])
            if selector and labels is not None:
                after.add("selector", selector, "the series that grew most")
            block.add("after_workload", after)
    return block


def metrics_section(obs_after: Sequence[MetricFamily], obs_before: Sequence[MetricFamily],
                    promtool: list[Finding] | None, metrics_path: str, ready_path: str | None = None) -> MetricsDraft:
    """The ``metrics`` section from the scrapes after and before the workload, or why there is none."""
    drafted, runtime, left = [], [], []
    for fam in obs_after:
        if fam.name.endswith("_created") and all(s.name.endswith("_created") for s in fam.samples):
            continue  # prometheus_client's creation timestamps of another family, not a family of their own
        if fam.name.startswith(RUNTIME_PREFIXES):
            runtime.append(fam.name)
        elif fam.type not in DRAFTED_TYPES:
            left.append(f"{fam.name} ({fam.type})")
        elif not _data(fam):
            left.append(f"{fam.name} (no series yet)")
        else:
            drafted.append(fam)
    if not drafted:
        return MetricsDraft(None, (f"metrics: not drafted, {metrics_path} exposes no family of the service's own "
                                   f"({len(obs_after)} families, runtime: {', '.join(runtime[:6]) or 'none'})",))
    avoid = tuple(p for p in (metrics_path, ready_path) if p)
    families = Items([Item(_family(f, find_family(obs_before, f.name), avoid)) for f in drafted])
    notes = []
    if runtime:
        notes.append(f"not drafted, the client library's runtime families: {', '.join(runtime[:8])}"
                     + (f" and {len(runtime) - 8} more" if len(runtime) > 8 else ""))
    if left:
        notes.append(f"not drafted: {', '.join(left)}")
    skips = []
    if promtool:
        problems = "; ".join(f.message.splitlines()[0] for f in promtool)[:300]
        skips.append(("metrics.promtool", f"promtool check metrics reports, on the service as drafted: {problems}",
                      f"{len(promtool)} problem(s) from promtool check metrics"))
    value, comment = semconv_entry(check_metric_semconv(list(obs_after)), f"{len(obs_after)} families")
    section = Block()
    section.add("semconv", value, comment)
    section.add("families", families, f"{len(drafted)} families of the service's own on {metrics_path}",
                above=tuple(notes))
    return MetricsDraft(section, skips=skips)
