"""Redaction of secrets before anything leaves the process: stdout, files, Loki, PocketBase, span attributes,
metric label values.

Rules:

* a value whose *key* names a secret is replaced whole (``password``, ``API_KEY``, ``apiKey``,
  ``X-Api-Key``, ``accessToken``: keys are compared case-insensitively, split at ``_ - .`` and at
  camelCase humps);
* a ``{"name": "password", "value": "..."}`` pair (headers as lists, form fields, HAR entries) masks the
  value, since the secret's name and value sit in two fields;
* inside free text, ``key=value`` / ``key: value`` / ``"key": "value"`` pairs whose key names a secret,
  ``Bearer <token>`` and the password of a URL (``https://user:pass@host``) are masked.

:meth:`Redactor.record` applies all of them to a whole log record, every field at any depth, and bounds
the length of every string (a 1 MB value becomes a few KiB), so a formatter that adds request fields of its
own (user id, tenant, request id) cannot leak what a client sent there.

The key list covers the five seeds (seed 004 masks ``password`` and ``api_key`` with ``[REDACTED]``; seed 001
removes passwords and tokens; seed 000 forbids credentials) plus the usual suspects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

MASK = "[REDACTED]"
#: Longest string a log record keeps (characters); longer values are cut and marked. 8 KiB holds any
#: legitimate field of the reference and keeps a hostile 1 MB header or body field out of every sink.
MAX_VALUE_CHARS = 8192
#: Most items a list or mapping inside a log record keeps; the rest are summarised.
MAX_ITEMS = 256
#: Deepest nesting a log record keeps.
MAX_DEPTH = 16

#: Secret words, matched against whole segments of the normalised key, so ``api_key``, ``db_password``,
#: ``access_token`` and ``Authorization`` match while ``tokens_used`` and ``key`` do not.
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
    "set_cookie",
    "dsn",
)
#: Compounds written without a separator (``accesstoken``, ``clientsecret``): matched as whole segments.
SECRET_COMPOUNDS: tuple[str, ...] = (
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "authtoken",
    "bearertoken",
    "sessiontoken",
    "clientsecret",
    "privatekey",
    "accesskey",
    "secretkey",
    "userpassword",
)
#: Keys that contain a secret word but name no secret.
BENIGN_KEYS: frozenset[str] = frozenset({"token_type", "token_count", "secret_name"})
#: Keys of a mapping that name another field of the same mapping (``{"name": "password", "value": "x"}``).
_NAME_KEYS = ("name", "key", "header", "field", "param", "parameter")
_VALUE_KEYS = ("value", "values", "val")

_WORDS = "|".join(sorted((w.replace("_", "[_-]?") for w in SECRET_WORDS + SECRET_COMPOUNDS), key=len, reverse=True))
_TEXT_SECRET = re.compile(
    r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"
    # key=value: the key may carry any identifier prefix (accessToken, X-Api-Key, db.password) and a closing
    # quote (JSON inside a string: "password": "x")
    rf"|\b([A-Za-z0-9_.-]*?(?:{_WORDS}))([\"']?\s*[=:]\s*)((?:bearer\s+|basic\s+)?(?:\"[^\"]*\"|'[^']*'|[^\s,;&\"'}}]+))"
    # scheme://user:password@host
    r"|\b([a-z][a-z0-9+.-]*://[^\s/:@]*:)([^\s/@]+)@"
)
# Cheap pre-check so the regex only runs on strings that might hold a secret.
_HINT = re.compile(
    r"(?i)bearer|passw|pwd|api.?key|token|secret|authoriz|credential|cookie|dsn|private|access|://[^\s/@]*:[^\s/@]*@")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def bound(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with a marker saying how much was dropped."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[{len(text) - limit} chars truncated]"


class Redactor:
    """Masks secrets in log records, attribute maps and label values. Immutable rules, thread-safe caches."""

    def __init__(self, extra_keys: Iterable[str] = (), *, max_value: int = MAX_VALUE_CHARS) -> None:
        words = SECRET_WORDS + SECRET_COMPOUNDS + tuple(k.lower().replace("-", "_") for k in extra_keys)
        self._key_re = re.compile(r"(?:^|_)(?:" + "|".join(sorted(words, key=len, reverse=True)) + r")(?:$|_)")
        self.max_value = max_value
        self._known: dict[str, bool] = {}  # key -> is secret (keys repeat; cache the answer)
        self._texts: dict[str, str] = {}  # short text -> redacted text

    def is_secret_key(self, key: str) -> bool:
        hit = self._known.get(key)
        if hit is None:
            norm = _CAMEL.sub("_", key).lower().replace("-", "_").replace(".", "_").replace(" ", "_")
            hit = norm not in BENIGN_KEYS and key.lower() not in BENIGN_KEYS and self._key_re.search(norm) is not None
            if len(self._known) < 4096:  # bounded: keys are mostly code-defined, but clients can send any
                self._known[key] = hit
        return hit

    def text(self, value: str) -> str:
        """Mask ``password=...``, ``token: ...``, ``Bearer ...``, ``https://u:p@host`` inside free text, also
        when percent-encoded (a query string: ``?next=password%3Dx``)."""
        if len(value) <= 256:
            # short strings (paths, messages, ids) repeat a lot: remember the answer, bounded
            hit = self._texts.get(value)
            if hit is None:
                hit = _redact_text(value)
                if len(self._texts) < 8192:
                    self._texts[value] = hit
            return hit
        return _redact_text(value)

    def label(self, value: str, limit: int = 64) -> str:
        """A metric label value from client input: secrets masked, at most ``limit`` characters."""
        return bound(self.text(value[: limit * 4]), limit)

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
        named = _named_secret(self, data)
        out: dict[str, Any] = {}
        for key, val in data.items():
            if val is not None and (self.is_secret_key(key) or (named and key in _VALUE_KEYS)):
                out[key] = MASK
            elif isinstance(val, str):
                out[key] = self.text(val)
            elif isinstance(val, Mapping | list | tuple):
                out[key] = self.value(val)
            else:
                out[key] = val
        return out

    def record(self, data: dict[str, Any]) -> dict[str, Any]:
        """Every field of a log record at any depth: secret keys and name/value pairs masked, secrets in
        text masked, strings bounded to ``max_value`` characters, containers to :data:`MAX_ITEMS` items
        and :data:`MAX_DEPTH` levels. Returns ``data`` itself when nothing changed (the common case)."""
        return self._walk(data, 0)

    def _walk(self, data: Mapping[str, Any], depth: int) -> dict[str, Any]:
        named = _named_secret(self, data)
        out: dict[str, Any] | None = None
        n = 0
        for key, val in data.items():
            n += 1
            if n > MAX_ITEMS:
                out = dict(out if out is not None else data)
                for extra in list(out)[MAX_ITEMS:]:
                    del out[extra]
                out["..."] = f"[{len(data) - MAX_ITEMS} more fields truncated]"
                break
            new = self._clean(key, val, named, depth)
            if new is not val:
                if out is None:
                    out = dict(data)
                out[key] = new
        return out if out is not None else data  # type: ignore[return-value]

    def _clean(self, key: Any, val: Any, named: bool, depth: int) -> Any:
        if val is None or val is True or val is False or isinstance(val, int | float):
            return val
        if isinstance(key, str) and (self.is_secret_key(key) or (named and key in _VALUE_KEYS)):
            return val if val == MASK else MASK
        if isinstance(val, str):
            new = self.text(val if len(val) <= self.max_value else bound(val, self.max_value))
            return val if new == val else new
        if depth >= MAX_DEPTH:
            return "[nested too deep]"
        if isinstance(val, Mapping):
            return self._walk(val, depth + 1)
        if isinstance(val, list | tuple):
            items = list(val[:MAX_ITEMS])
            cleaned = [self._clean(None, v, False, depth + 1) for v in items]
            if len(val) > MAX_ITEMS:
                cleaned.append(f"[{len(val) - MAX_ITEMS} more items truncated]")
            elif all(a is b for a, b in zip(cleaned, items, strict=True)) and isinstance(val, list):
                return val
            return cleaned
        return val  # other types: the serialiser turns them into text with default=str

    def needs_work(self, data: Mapping[str, Any]) -> bool:
        """True if :meth:`mapping` would change ``data`` (lets exporters skip copying clean spans)."""
        for key, val in data.items():
            if self.is_secret_key(key):
                return True
            if isinstance(val, str) and _HINT.search(val):
                return True
            if isinstance(val, str) and key.lower() in _NAME_KEYS and self.is_secret_key(val):
                return True
        return False


def _redact_text(value: str) -> str:
    out = _TEXT_SECRET.sub(_mask_match, value) if _HINT.search(value) else value
    if "%" not in out and "+" not in out:
        return out
    # percent-encoded secrets (query strings, where '+' is a space too): decode (twice at most: double encoding), and if the
    # decoded text hides a secret, keep the decoded text with the secret masked
    decoded = out
    for _ in range(2):
        step = unquote_plus(decoded)
        if step == decoded:
            break
        decoded = step
    if decoded != out and _HINT.search(decoded):
        masked = _TEXT_SECRET.sub(_mask_match, decoded)
        if masked != decoded:
            return masked
    return out


def _named_secret(red: Redactor, data: Mapping[str, Any]) -> bool:
    """``{"name": "Authorization", "value": "..."}``: a field of the mapping names a secret held in another."""
    for key in _NAME_KEYS:
        name = data.get(key)
        if isinstance(name, str) and len(name) <= 128 and red.is_secret_key(name):
            return any(v in data for v in _VALUE_KEYS)
    return False


def _mask_match(m: re.Match[str]) -> str:
    if m.group(1):  # Bearer <token>
        return f"{m.group(1)} {MASK}"
    if m.group(5):  # scheme://user:password@
        return f"{m.group(5)}{MASK}@"
    return f"{m.group(2)}{m.group(3)}{MASK}"
