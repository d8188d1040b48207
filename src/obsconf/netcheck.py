"""Which addresses the processes of a stack listen on, from ``/proc`` (no extra tools, no psutil privileges).

``/proc/<pid>/net/{tcp,tcp6,udp,udp6}`` lists the sockets of the process's network namespace; a process
owns those whose inode is among its ``/proc/<pid>/fd`` links (``socket:[inode]``). A TCP socket listens in
state ``0A``; a UDP socket is bound in state ``07`` with no remote address. :func:`not_loopback` names every
one bound to something other than 127.0.0.0/8 or ::1 - what "Bind every server to 127.0.0.1" forbids.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from obsconf.loopback import is_loopback
from obsconf.stack.process import MARKER_ENV

_PROTOCOLS = ("tcp", "tcp6", "udp", "udp6")
_LISTEN = {"tcp": "0A", "tcp6": "0A", "udp": "07", "udp6": "07"}


@dataclass(frozen=True)
class Listener:
    """One listening (TCP) or bound (UDP) socket of a process."""

    proto: str
    address: str
    port: int
    pid: int
    process: str

    @property
    def loopback(self) -> bool:
        return is_loopback(self.address)

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.process} (pid {self.pid}) {self.proto} {host}:{self.port}"


def decode_address(hex_addr: str) -> str:
    """``0100007F`` -> ``127.0.0.1``; 32 hex digits -> an IPv6 address (each 32-bit word little-endian)."""
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return str(ipaddress.IPv6Address(words))


def parse_proc_net(text: str, proto: str) -> list[tuple[str, int, int]]:
    """(address, port, inode) of the listening/bound sockets in one ``/proc/net/<proto>`` table."""
    out = []
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 10:
            continue
        local, remote, state, inode = cols[1], cols[2], cols[3], int(cols[9])
        if state != _LISTEN[proto] or (proto.startswith("udp") and not remote.endswith(":0000")):
            continue
        addr, port = local.split(":")
        out.append((decode_address(addr), int(port, 16), inode))
    return out


def _socket_inodes(pid: int, proc: Path) -> set[int]:
    inodes = set()
    try:
        fds = list((proc / str(pid) / "fd").iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _name(pid: int, proc: Path) -> str:
    try:
        return (proc / str(pid) / "comm").read_text().strip()
    except OSError:
        return "?"


def listeners(pids: Iterable[int], proc: Path = Path("/proc")) -> list[Listener]:
    """Every listening TCP and bound UDP socket that one of ``pids`` holds."""
    out: list[Listener] = []
    for pid in sorted(set(pids)):
        inodes = _socket_inodes(pid, proc)
        if not inodes:
            continue
        for proto in _PROTOCOLS:
            try:
                table = (proc / str(pid) / "net" / proto).read_text()
            except OSError:
                continue
            out.extend(Listener(proto, addr, port, pid, _name(pid, proc))
                       for addr, port, inode in parse_proc_net(table, proto) if inode in inodes)
    return out


def not_loopback(found: Iterable[Listener]) -> list[Listener]:
    """The sockets bound to anything but loopback (0.0.0.0 and :: included)."""
    return [x for x in found if not x.loopback]


def session_pids(owner: int, proc: Path = Path("/proc")) -> list[int]:
    """Processes started by obsconf session ``owner`` (their environment carries its marker), and theirs."""
    marker = f"{MARKER_ENV}={owner}".encode()
    pids = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return sorted(pids)


def host_listeners(ports: Iterable[int], proc: Path = Path("/proc")) -> list[Listener]:
    """Sockets of this (host) network namespace that listen on one of ``ports``, whoever owns them (a
    container engine's port forwarder holds published ports; pid 0 when no process of ours owns it)."""
    wanted = set(ports)
    out = []
    for proto in _PROTOCOLS:
        try:
            table = (proc / "net" / proto).read_text()
        except OSError:
            continue
        out.extend(Listener(proto, addr, port, 0, "host") for addr, port, _ in parse_proc_net(table, proto)
                   if port in wanted)
    return out


def container_bindings(attrs: dict[str, object]) -> list[str]:
    """``host_ip:host_port`` of every port a container publishes (``NetworkSettings.Ports`` of an inspect)."""
    ports = ((attrs.get("NetworkSettings") or {}).get("Ports") or {})  # type: ignore[union-attr]
    return [f"{b.get('HostIp') or '0.0.0.0'}:{b.get('HostPort')}" for binds in ports.values() for b in (binds or [])]
