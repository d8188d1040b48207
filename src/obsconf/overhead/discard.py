"""A sink that accepts OTLP/HTTP span exports and Loki pushes and throws them away (``--sinks discard``).

What it is for: measuring a service's own cost of exporting, with nothing else on the machine reacting to
the export. With the real stack (``--with-stack``), Jaeger and the log store ingest what the instrumented
variants send, on the load generator's core (there are only two): the generator then reads A's answers
later than B's, and A's p99 grows for a reason that is not A. Here every POST costs the sink a few
microseconds. It is no stand-in for a backend: nothing is stored or checked (the conformance suite does
that, against the real ones); it only counts what arrived, so a run can show that A did export.

Any method on any path gets ``200`` with ``{}``; ``GET /stats`` answers what arrived, by path.
Run: ``python -m obsconf.overhead.discard --port N`` (binds 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter

_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
STATS_PATH = "/stats"


class DiscardSink:
    """Counts requests and body bytes per path; answers every request at once."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()

    def stats(self) -> bytes:
        body = json.dumps({"requests": dict(self.requests), "bytes": dict(self.bytes)}).encode()
        return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, _, rest = head.partition(b"\r\n")
                parts = line.split(b" ")
                path = (parts[1] if len(parts) > 1 else b"/").decode("latin-1").split("?")[0]
                length, chunked = 0, False
                for header in rest.split(b"\r\n"):
                    name, _, value = header.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                    elif name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
                        chunked = True
                size = await _read_chunked(reader) if chunked else len(await reader.readexactly(length))
                if path == STATS_PATH:
                    writer.write(self.stats())
                else:
                    self.requests[path] += 1
                    self.bytes[path] += size
                    writer.write(_OK)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass  # the client closed the connection (or sent something that is not HTTP): drop it
        finally:
            writer.close()


async def _read_chunked(reader: asyncio.StreamReader) -> int:
    size = 0
    while True:
        chunk = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(chunk + 2)
        size += chunk
        if chunk == 0:
            return size


async def _serve(port: int) -> None:
    sink = DiscardSink()
    server = await asyncio.start_server(sink.handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m obsconf.overhead.discard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="loopback port to listen on")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args.port))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
