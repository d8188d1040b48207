"""Exceptions raised by obsconf. Every message names the offending file, field or URL and the fix."""

from __future__ import annotations


class ObsconfError(Exception):
    """Base class of every error obsconf raises on purpose."""


class ContractError(ObsconfError):
    """A contract file is malformed: the message names the file, the path inside it and the problem."""

    def __init__(self, file: str, path: str, problem: str) -> None:
        self.file, self.path, self.problem = file, path, problem
        super().__init__(f"{file}: at {path or '<root>'}: {problem}")


class BackendMissing(ObsconfError):
    """A backend binary or image is not installed; the message says how to get it."""


class BackendNotReady(ObsconfError):
    """A backend did not become ready in time, or exited at start; the message carries its log tail."""


class TargetUnreachable(ObsconfError):
    """The service under test cannot be reached at the given URL."""


class TargetStartFailed(ObsconfError):
    """The service under test exited at start or never answered; the message carries its command,
    its readiness URL and the tail of its stdout and stderr."""


class PortInUse(ObsconfError):
    """A requested loopback port is already taken by another process."""


class UsageError(ObsconfError):
    """An impossible combination of options; the message says what to use instead."""


class BackendUnavailable(ObsconfError):
    """A backend that was up stopped answering mid-run (refused, reset, timed out): the message names the
    backend, the URL asked and, where known, the backend's log file."""

    def __init__(self, backend: str, url: str, cause: BaseException, log_file: object = None) -> None:
        self.backend, self.url, self.log_file = backend, url, log_file
        where = f"its log: {log_file}" if log_file else "its log file is not known here (see the stack's log dir)"
        super().__init__(f"{backend} at {url} stopped answering ({type(cause).__name__}: {str(cause)[:200]}); "
                         f"it may have exited or hung - {where}")
