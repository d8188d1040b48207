"""Typed reads of environment variables; a bad value is one :class:`~obsconf.errors.UsageError` line that
names the variable, quotes the value and shows a valid example (``OBSCONF_READY_TIMEOUT='abc': expected a
number, e.g. OBSCONF_READY_TIMEOUT=30``), never a bare ``ValueError``.

Used by :mod:`obsconf.settings` (the suite's ``OBSCONF_*`` variables) and by the reference service's
configuration. An unset or empty variable gives the default.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from obsconf.errors import UsageError

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_N = TypeVar("_N", int, float)


def _bad(name: str, raw: str, wanted: str, example: object) -> UsageError:
    return UsageError(f"environment variable {name}={raw!r}: expected {wanted}, e.g. {name}={example}")


def _range(name: str, raw: str, value: float, wanted: str, example: object, minimum: float | None,
           maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise _bad(name, raw, f"{wanted} >= {minimum:g}", example)
    if maximum is not None and value > maximum:
        raise _bad(name, raw, f"{wanted} <= {maximum:g}", example)


def _given(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value, or None when it is unset or blank (the default then applies)."""
    raw = env.get(name)
    return None if raw is None or raw.strip() == "" else raw


def _parsed(name: str, raw: str, parse: Callable[[str], _N], wanted: str, example: object) -> _N:
    try:
        return parse(raw)
    except ValueError:
        raise _bad(name, raw, wanted, example) from None


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    val = raw.strip().lower()
    if val in _TRUE:
        return True
    if val in _FALSE:
        return False
    raise _bad(name, raw, "true/false (or 1/0, on/off)", "true" if default else "false")


def _env_number(env: Mapping[str, str], name: str, default: _N, parse: Callable[[str], _N], wanted: str,
                example: object, minimum: float | None, maximum: float | None) -> _N:
    raw = _given(env, name)
    if raw is None:
        return default
    value = _parsed(name, raw, parse, wanted, example)
    if not math.isfinite(value):
        raise _bad(name, raw, "a finite number", example)  # only a float can be inf or nan
    _range(name, raw, value, wanted, example, minimum, maximum)
    return value


def env_float(env: Mapping[str, str], name: str, default: float, *, minimum: float | None = None,
              maximum: float | None = None) -> float:
    return _env_number(env, name, default, float, "a number", f"{default:g}", minimum, maximum)


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
    return _env_number(env, name, default, int, "an integer", default, minimum, maximum)


def env_duration(env: Mapping[str, str], name: str, default: float) -> float:
    """Seconds from ``1.5``, ``250ms``, ``1s``, ``2m`` (Go-style durations, as seed 004 writes them)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    for suffix, scale in (("ms", 0.001), ("us", 1e-6), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if raw.endswith(suffix) and raw[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(raw[: -len(suffix)]) * scale
    value = _parsed(name, raw, float, "seconds or a duration like 1s, 250ms", f"{default:g}s")
    if not math.isfinite(value) or value < 0:
        raise _bad(name, raw, "a non-negative duration", f"{default:g}s")
    return value


def env_choice(env: Mapping[str, str], name: str, default: str, choices: Sequence[str]) -> str:
    """One of ``choices`` (compared as given, after stripping blanks)."""
    raw = _given(env, name)
    if raw is None:
        return default
    value = raw.strip()
    if value not in choices:
        raise _bad(name, raw, f"one of {', '.join(choices)}", default)
    return value
