"""Local processes that are started, waited for and always stopped: no orphans, even after SIGKILL.

Three layers keep a session from leaving processes behind:
1. each child runs in its own process group and is stopped with the whole group;
2. each child asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG), which covers a
   SIGKILL of pytest;
3. each group is written to a registry file of the session, watched by a small watchdog process
   (:mod:`obsconf.stack.watchdog`) that outlives the session: when the session's end closes its pipe, it
   sends SIGTERM and then SIGKILL to every group still listed, which covers a child that ignores or hangs on
   SIGTERM, and grandchildren;
4. the next session reaps groups whose owner is dead (:func:`reap_orphans`), which covers a watchdog that
   was killed too.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from types import TracebackType

from obsconf.errors import BackendMissing, BackendNotReady
from obsconf.stack.readiness import wait_ready

_PR_SET_PDEATHSIG = 1
MARKER_ENV = "OBSCONF_SESSION_OWNER"  # set in every child's environment: the pid of the owning session


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # no prctl here: the registry reaper still covers this child


def process_start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), or None if ``pid`` is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    if fields[0] in ("Z", "X"):  # PID 1 here does not reap zombies: a zombie is dead
        return None
    return fields[19]


def _alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (nobody reaped it, PID 1 here does not) counts as dead."""
    return process_start_time(pid) is not None


@dataclass(eq=False, repr=False)  # a handle on a running child: identity, not value
class ManagedProcess:
    """A child process with a log file, a readiness probe and a stop that takes its whole group.

    Use as a context manager; if readiness fails the process is stopped before the error is raised, and
    the error carries the tail of its log.
    """

    name: str
    argv: Sequence[str]
    _: KW_ONLY
    log_path: Path
    probe: Callable[[], None] | None = None
    ready_timeout: float = 30.0
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    registry: Path | None = None
    missing_hint: str = "run `obsconf provision`"
    stderr_path: Path | None = None  # None: stderr goes to log_path too
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)
    ready_seconds: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.argv = [str(a) for a in self.argv]
        self.env = dict(self.env) if self.env is not None else None

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was not started"
        return self.proc.pid

    def start(self) -> ManagedProcess:
        exe = self.argv[0]
        # a relative path names a file in the working directory the child will have, not in ours
        located = os.path.join(self.cwd, exe) if self.cwd is not None and not os.path.isabs(exe) else exe
        if os.sep in exe and not os.access(located, os.X_OK):
            raise BackendMissing(f"{self.name}: binary {exe} is missing or not executable; {self.missing_hint}")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ if self.env is None else self.env)
        env[MARKER_ENV] = str(os.getpid())
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it; closed below
        err = open(self.stderr_path, "ab") if self.stderr_path is not None else None  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=err if err is not None else subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.cwd,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, no locks taken
            )
        except FileNotFoundError as exc:
            raise BackendMissing(f"{self.name}: cannot run {exe!r} ({exc.strerror}); {self.missing_hint}") from exc
        finally:
            log.close()
            if err is not None:
                err.close()
        self._register()
        if self.probe is not None:
            try:
                self.ready_seconds = wait_ready(
                    self.name, self.probe, timeout=self.ready_timeout, still_alive=self._exit_reason
                )
            except BackendNotReady as exc:
                self.stop()
                raise BackendNotReady(f"{exc}\n{self.output_tails()}") from None
        return self

    def _exit_reason(self) -> str | None:
        if self.proc is not None and self.proc.poll() is not None:
            return f"exit code {self.proc.returncode}"
        return None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 25, path: Path | None = None) -> str:
        try:
            text = (path or self.log_path).read_text(errors="replace")
        except FileNotFoundError:
            return "(no log written)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty)"

    def output_tails(self, lines: int = 25) -> str:
        """The last lines of what the process wrote (stdout and stderr), for an error message."""
        if self.stderr_path is None:
            return f"--- last lines of {self.log_path} ---\n{self.log_tail(lines)}"
        return (f"--- last lines of its stdout ({self.log_path}) ---\n{self.log_tail(lines)}\n"
                f"--- last lines of its stderr ({self.stderr_path}) ---\n{self.log_tail(lines, self.stderr_path)}")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        if self.proc.poll() is None:
            _signal_group(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(pgid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
        _signal_group(pgid, signal.SIGKILL)  # leftovers of the group, if any
        self._unregister()

    # registry: one JSON file per owning session, listing its process groups
    def _registry_file(self) -> Path | None:
        return None if self.registry is None else self.registry / f"{os.getpid()}.json"

    def _register(self) -> None:
        path = self._registry_file()
        if path is None or self.proc is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        _ensure_watchdog(path)
        entries = _read_registry(path)
        entries[str(self.proc.pid)] = {"name": self.name, "argv0": self.argv[0]}
        path.write_text(json.dumps(entries))

    def _unregister(self) -> None:
        path = self._registry_file()
        if path is None or self.proc is None or not path.exists():
            return
        entries = _read_registry(path)
        entries.pop(str(self.proc.pid), None)
        if entries:
            path.write_text(json.dumps(entries))
        else:
            path.unlink(missing_ok=True)

    def __enter__(self) -> ManagedProcess:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


_WATCHDOGS: dict[Path, subprocess.Popen[bytes]] = {}  # registry file -> its watchdog (one per session)


def _ensure_watchdog(registry_file: Path) -> None:
    """Start the session's watchdog for ``registry_file`` once; it holds the read end of a pipe whose write
    end stays open in this process until it exits."""
    running = _WATCHDOGS.get(registry_file)
    if running is not None and running.poll() is None:
        return
    import sys

    read_end, write_end = os.pipe()
    try:
        _WATCHDOGS[registry_file] = subprocess.Popen(
            [sys.executable, "-m", "obsconf.stack.watchdog", str(registry_file)], stdin=read_end,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    finally:
        os.close(read_end)
    os.set_inheritable(write_end, False)  # only this process keeps the session alive in the watchdog's eyes
    _WRITE_ENDS.append(write_end)


_WRITE_ENDS: list[int] = []  # never written, never closed: closing at exit is the signal


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone


def _read_registry(path: Path) -> dict[str, dict[str, str]]:
    try:
        return dict(json.loads(path.read_text() or "{}"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _owned_by(pid: int, owner: int) -> bool:
    """True if ``pid`` still is a process that session ``owner`` started (guards against pid reuse)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except (FileNotFoundError, PermissionError, ProcessLookupError):
        return False
    return f"{MARKER_ENV}={owner}".encode() in environ


def reap_orphans(registry: Path) -> list[str]:
    """Kill process groups left by sessions that died; return what was reaped (``name pid``)."""
    reaped: list[str] = []
    if not registry.is_dir():
        return reaped
    for path in registry.glob("*.json"):
        try:
            owner = int(path.stem)
        except ValueError:
            continue
        if owner != os.getpid() and _alive(owner):
            continue
        for pid_text, info in _read_registry(path).items():
            pid = int(pid_text)
            if _alive(pid) and _owned_by(pid, owner):
                _signal_group(pid, signal.SIGKILL)
                reaped.append(f"{info.get('name', '?')} {pid}")
        path.unlink(missing_ok=True)
    if reaped:
        time.sleep(0.1)  # let the kernel release their ports
    return reaped


def backend_process(name: str, argv: Sequence[str], workdir: Path, *, probe: Callable[[], None], timeout: float,
                    registry: Path) -> ManagedProcess:
    """A backend of the process stack: its log is ``workdir/<name>.log``, ready when ``probe`` passes."""
    return ManagedProcess(name, argv, log_path=workdir / f"{name}.log", probe=probe, ready_timeout=timeout,
                          registry=registry)
