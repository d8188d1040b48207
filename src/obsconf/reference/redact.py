"""Redaction of secrets before anything leaves the process: stdout, files, Loki, PocketBase, span attributes.

Two rules: a value whose *key* names a secret is replaced whole; inside free text, ``key=value`` /
``key: value`` pairs whose key names a secret and ``Bearer <token>`` are masked. The key list covers the
five seeds (seed 004 masks ``password`` and ``api_key`` with ``[REDACTED]``; seed 001 removes passwords
and tokens; seed 000 forbids credentials) plus the usual suspects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[REDACTED]"

#: Secret words, matched against whole ``_``-separated segments of the normalised key, so ``api_key``,
#: ``db_password``, ``access_token`` and ``Authorization`` match while ``tokens_used`` and ``key`` do not.
SECRET_WORDS: tuple[str, ...] = (
    "password",
    "passwd",
    "pwd",
    "api_key",
    "apikey",
    "token",
    "authorization",
    "secret",
    "credential",
    "credentials",
    "private_key",
    "access_key",
    "secret_key",
    "cookie",
    "dsn",
)
#: Keys that contain a secret word but name no secret.
BENIGN_KEYS: frozenset[str] = frozenset({"token_type", "token_count", "secret_name"})

_WORDS = "|".join(sorted((w.replace("_", "[_-]?") for w in SECRET_WORDS), key=len, reverse=True))
_TEXT_SECRET = re.compile(
    r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"
    rf"|\b((?:[A-Za-z]+[_-])*(?:{_WORDS}))(\s*[=:]\s*)((?:bearer\s+|basic\s+)?(?:\"[^\"]*\"|'[^']*'|[^\s,;&\"']+))"
)
# Cheap pre-check so the regex only runs on strings that might hold a secret.
_HINT = re.compile(r"(?i)bearer|passw|pwd|api.?key|token|secret|authoriz|credential|cookie|dsn|private|access")


class Redactor:
    """Masks secrets in log records and attribute maps. Instances are immutable and thread-safe."""

    def __init__(self, extra_keys: Iterable[str] = ()) -> None:
        words = SECRET_WORDS + tuple(k.lower().replace("-", "_") for k in extra_keys)
        self._key_re = re.compile(r"(?:^|_)(?:" + "|".join(sorted(words, key=len, reverse=True)) + r")(?:$|_)")
        self._known: dict[str, bool] = {}  # key -> is secret (keys repeat; cache the answer)
        self._texts: dict[str, str] = {}  # short text -> redacted text

    def is_secret_key(self, key: str) -> bool:
        hit = self._known.get(key)
        if hit is None:
            norm = key.lower().replace("-", "_").replace(".", "_")
            hit = norm not in BENIGN_KEYS and self._key_re.search(norm) is not None
            if len(self._known) < 4096:  # bounded: keys are code-defined, but be safe
                self._known[key] = hit
        return hit

    def text(self, value: str) -> str:
        """Mask ``password=...``, ``token: ...``, ``Bearer ...`` inside free text."""
        if len(value) <= 256:
            # short strings (paths, messages, ids) repeat a lot: remember the answer, bounded
            hit = self._texts.get(value)
            if hit is None:
                hit = _TEXT_SECRET.sub(_mask_match, value) if _HINT.search(value) else value
                if len(self._texts) < 8192:
                    self._texts[value] = hit
            return hit
        if not _HINT.search(value):
            return value
        return _TEXT_SECRET.sub(_mask_match, value)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return self.mapping(value)
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value

    def mapping(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``data`` with secret keys masked and secrets in nested values masked."""
        out: dict[str, Any] = {}
        for key, val in data.items():
            if val is not None and self.is_secret_key(key):
                out[key] = MASK
            elif isinstance(val, str):
                out[key] = self.text(val)
            elif isinstance(val, Mapping | list | tuple):
                out[key] = self.value(val)
            else:
                out[key] = val
        return out

    def needs_work(self, data: Mapping[str, Any]) -> bool:
        """True if :meth:`mapping` would change ``data`` (lets exporters skip copying clean spans)."""
        for key, val in data.items():
            if self.is_secret_key(key):
                return True
            if isinstance(val, str) and _HINT.search(val):
                return True
        return False


def _mask_match(m: re.Match[str]) -> str:
    if m.group(1):  # Bearer <token>
        return f"{m.group(1)} {MASK}"
    return f"{m.group(2)}{m.group(3)}{MASK}"
