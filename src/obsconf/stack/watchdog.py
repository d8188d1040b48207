"""The session watchdog: the fourth layer against orphans, for children that ignore or hang on SIGTERM.

``python -m obsconf.stack.watchdog REGISTRY_FILE`` blocks reading its stdin, a pipe whose write end only the
owning session holds. When that session ends (normally, or killed with SIGKILL), the pipe closes; the
watchdog then sends SIGTERM to every process group still listed in the session's registry file, waits a
moment, sends SIGKILL to what is left, and removes the file. A session that stopped everything itself leaves
an empty registry, and the watchdog just exits.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

GRACE_S = 2.0


def _groups(registry_file: Path) -> list[int]:
    try:
        return [int(pid) for pid in json.loads(registry_file.read_text() or "{}")]
    except (FileNotFoundError, ValueError):
        return []


def _signal(pgid: int, sig: signal.Signals) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def main(argv: list[str]) -> int:
    registry_file = Path(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for pytest must not kill the cleaner
    while sys.stdin.buffer.read(4096):
        pass  # the owner never writes; EOF means it is gone
    alive = [g for g in _groups(registry_file) if _signal(g, signal.SIGTERM)]
    deadline = time.monotonic() + GRACE_S
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [g for g in alive if _signal(g, 0)]
    for group in alive:
        _signal(group, signal.SIGKILL)
    if alive or _groups(registry_file):
        registry_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
