"""A small HTTP/1.1 keep-alive client for the load generators of ``bench/hub.py``.

On two cores the load generator shares the machine with the server it measures: aiohttp's
client spends about as much CPU per request as the server does, so it would cap what any
server can show. This one (one connection per closed-loop worker, ``Content-Length``
bodies, as aiohttp's server answers) costs a fraction of that. Every part of the benchmark,
the bare aiohttp baseline included, is measured with it, so their ratios stay fair.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any


class HttpError(Exception):
    pass


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> tuple[int, bytes]:
        """(status, body) of one request."""
        if self._writer is None:
            await self._connect()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body or method in ("POST", "PUT"):
            head.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        assert self._writer is not None
        assert self._reader is not None
        self._writer.write(data)
        status_line = await self._reader.readline()
        if not status_line:
            raise HttpError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return status, await self._reader.readexactly(length) if length else b""

    async def json(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        status, raw = await self.request(method, path, **kwargs)
        return status, json.loads(raw) if raw else None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = self._reader = None
