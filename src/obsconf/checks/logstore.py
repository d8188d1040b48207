"""Pure checks of a log store (e.g. PocketBase ``daemon_logs``): the collection's indexes, and its records'
fields, types and levels."""

from __future__ import annotations

import re
from collections.abc import Sequence

from obsconf.checks.logs import check_log_schema
from obsconf.contract.model import LogsSpec, LogStoreSpec
from obsconf.model import Finding, LogRecord


def check_store_indexes(store: LogStoreSpec, indexes: Sequence[str] | None, *, query: str = "",
                        link: str = "") -> list[Finding]:
    """The store's collection has every index the contract lists (compared without case and spacing)."""
    where = store.loc or f"logs.store {store.collection}"
    if not store.indexes:
        return []
    if indexes is None:
        return [Finding("logs.store", where, f"the definition of collection {store.collection!r} could not be read, "
                        "so its indexes could not be checked: does the collection exist?",
                        expected=list(store.indexes), actual="no collection", query=query, link=link)]

    def norm(sql: str) -> str:
        return re.sub(r"\s+", " ", sql.replace("`", "").replace('"', "")).strip().rstrip(";").lower()

    have = {norm(i) for i in indexes}
    missing = [i for i in store.indexes if norm(i) not in have]
    if not missing:
        return []
    return [Finding("logs.store", where, f"collection {store.collection!r} lacks {len(missing)} of the "
                    f"{len(store.indexes)} indexes of the contract; first missing: {missing[0]}",
                    expected=list(store.indexes), actual=list(indexes), query=query, link=link)]


def check_log_store(store: LogStoreSpec, records: Sequence[LogRecord], *, query: str = "",
                    link: str = "") -> list[Finding]:
    """Records in the log store (e.g. PocketBase ``daemon_logs``) have the seed's fields, types and levels."""
    where = store.loc or f"logs.store {store.collection}"
    if not records:
        return [
            Finding(
                "logs.store",
                where,
                f"no record arrived in {store.kind} collection {store.collection!r}: does the service upload "
                "its log records to POCKETBASE_URL (or the variable of its pocketbase dependency), and flush them?",
                expected="at least one record",
                actual="0 records",
                query=query,
                link=link,
            )
        ]
    as_logs = LogsSpec(format="json", required_fields=store.required_fields, levels=store.levels, loc=where)
    return [
        Finding(f.check.replace("logs.schema", "logs.store").replace("logs.levels", "logs.store"), f.where, f.message,
                f.expected, f.actual, f.query, f.link)
        for f in check_log_schema(as_logs, records, where=where, query=query, link=link)
    ]
