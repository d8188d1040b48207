"""A service's command line as a contract (or ``--obsconf-target-cmd``) gives it: argv with ``{port}``."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from obsconf.errors import UsageError

#: The placeholders a service command may hold; ``{port}`` is a free 127.0.0.1 port picked at start.
PLACEHOLDERS = ("port",)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def parse_command(command: str | Sequence[str]) -> tuple[str, ...]:
    """Shell words (a string) or an argv list, refusing placeholders other than ``{port}``."""
    try:
        argv = tuple(shlex.split(command)) if isinstance(command, str) else tuple(command)
    except ValueError as exc:
        raise UsageError(f"cannot split the command {command!r}: {exc}; give it as a list of arguments") from None
    if not argv:
        raise UsageError("the service command is empty")
    for arg in argv:
        for name in _PLACEHOLDER.findall(arg):
            if name not in PLACEHOLDERS:
                raise UsageError(f"unknown placeholder {{{name}}} in {arg!r}; the only placeholder is {{port}} "
                                 "(a free 127.0.0.1 port); pass other values as environment variables")
    return argv


def expand(argv: Sequence[str], port: int) -> list[str]:
    """``argv`` with ``{port}`` replaced."""
    return [arg.replace("{port}", str(port)) for arg in argv]
