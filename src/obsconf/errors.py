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
