"""Pure check of log delivery: every numbered line the workload's ``emit`` steps produced arrived in each
sink, once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from obsconf.contract.model import DeliverySpec
from obsconf.model import Finding, LogRecord, get_field


def check_log_delivery(spec: DeliverySpec, records_by_sink: Mapping[str, Sequence[LogRecord]], emitted: int,
                       *, first_seq: int = 0, queries: Mapping[str, str] | None = None,
                       links: Mapping[str, str] | None = None, where: str = "") -> list[Finding]:
    """Every line emitted by ``emit`` steps (seq ``first_seq .. first_seq+emitted-1``) arrived in each sink,
    once. ``records_by_sink`` maps a sink name ("loki", "pocketbase") to the records read from it."""
    where = where or spec.loc or "logs.delivery"
    queries = queries or {}
    links = links or {}
    if emitted <= 0:
        return [Finding("logs.delivery", where, "no numbered line was emitted, so delivery could not be counted: add "
                        "an 'emit' step (emit: {n: 250}) to the workload", expected="emitted lines", actual="0")]
    wanted = set(range(first_seq, first_seq + emitted))
    findings = []
    for sink in spec.sinks:
        records = records_by_sink.get(sink)
        if records is None:
            findings.append(
                Finding(
                    "logs.delivery",
                    where,
                    f"no records were read from sink {sink!r}; the caller must read every sink the contract names",
                    expected=list(spec.sinks),
                    actual=sorted(records_by_sink),
                )
            )
            continue
        seen: Counter[int] = Counter()
        for rec in records:
            value = get_field(rec.fields, spec.seq_field) if rec.fields else None
            if isinstance(value, int) and not isinstance(value, bool):
                seen[value] += 1
        missing = sorted(wanted - set(seen))
        dupes = sorted(s for s in wanted if seen[s] > 1)
        if missing:
            findings.append(
                Finding(
                    "logs.delivery",
                    where,
                    f"{len(missing)} of {emitted} emitted lines never arrived in {sink} "
                    f"(first missing {spec.seq_field}: {missing[:10]}): lines were dropped",
                    expected=f"{emitted} lines",
                    actual=f"{emitted - len(missing)} lines",
                    query=queries.get(sink, ""),
                    link=links.get(sink, ""),
                )
            )
        if dupes and not spec.allow_duplicates:
            findings.append(
                Finding(
                    "logs.delivery",
                    where,
                    f"{len(dupes)} emitted lines arrived more than once in {sink} (first {spec.seq_field}: "
                    f"{dupes[:10]}): a retried batch was not de-duplicated",
                    expected="each line once",
                    actual={s: seen[s] for s in dupes[:10]},
                    query=queries.get(sink, ""),
                    link=links.get(sink, ""),
                )
            )
    return findings
