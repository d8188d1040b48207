"""Stack traces whose file paths are relative to where Python found the code.

An absolute path names the machine's layout (``/opt/app/...``, ``/home/ci/...``), which the seeds keep out of
telemetry (syncd: relative paths only; a contract's redaction patterns flag absolute paths). The frame's
module path relative to its ``sys.path`` entry still says where the error was raised.
"""

from __future__ import annotations

import re
import sys
import traceback

_FILE = re.compile(r'File "(/[^"]+)"')


def _roots() -> list[str]:
    roots = {entry.rstrip("/") + "/" for entry in sys.path if entry.startswith("/") and entry != "/"}
    return sorted(roots, key=len, reverse=True)  # the deepest entry first: site-packages before its prefix


def relative_paths(trace: str) -> str:
    """``trace`` with each ``File "/abs/path.py"`` shortened to the path below its ``sys.path`` entry."""
    if 'File "/' not in trace:
        return trace
    roots = _roots()

    def shorten(match: re.Match[str]) -> str:
        path = match.group(1)
        for root in roots:
            if path.startswith(root):
                return f'File "{path[len(root):]}"'
        return match.group(0)

    return _FILE.sub(shorten, trace)


def format_exception(error: BaseException) -> str:
    """The formatted traceback of ``error`` with relative file paths."""
    return relative_paths("".join(traceback.format_exception(type(error), error, error.__traceback__)))
