"""How the hub's client sends one request: an injectable transport.

A transport is an async callable taking a :class:`Request` (method, path with its query,
headers, body) and returning a :class:`Response` (status, headers, body), plus ``close()``.
When no answer comes it raises ``OSError`` (``ConnectionError``, ``TimeoutError``...), which
the client turns into :class:`~wire.errors.HubUnavailable`; any answer, whatever its status,
is a :class:`Response`.

Nothing here may carry the token or a child's CPR number into an error text, a ``repr`` or a
traceback: a :class:`Request`'s ``repr`` leaves its headers out and masks a CPR number in its
path, and aiohttp's errors (whose text and ``repr`` hold the URL and the request's headers,
``Authorization`` included) are replaced by :class:`NoAnswer`, which names only their kind
and is raised outside the ``except`` block, so the original is not even its context.

* :class:`AiohttpTransport` is the real one: one ``aiohttp.ClientSession`` (made on first
  use, inside the running loop), TLS as :func:`wire.tls.tls_context` makes it.
* :class:`TransportClient` is what a client over a transport shares: ``close()``, ``async
  with``, and a ``repr`` of its URL alone (never its token).
* :class:`MockTransport` answers from a function, for tests (like httpx's ``MockTransport``):
  ``HubClient(url, token, transport=MockTransport(answer))``.
"""

from __future__ import annotations

import inspect
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

import aiohttp

__all__ = ["AiohttpTransport", "MockTransport", "NoAnswer", "Request", "Response", "Transport"]

_CHILDREN = "/v1/children/"


@dataclass(frozen=True, slots=True)
class Request:
    """One request to the hub. ``path`` holds the query string (``/v1/inbox?limit=50``);
    ``timeout`` the seconds the whole exchange may take (None: the transport's default)."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    timeout: float | None = None

    def __repr__(self) -> str:  # never the headers (the token), the body or a CPR number
        return f"Request({self.method!r}, {safe_path(self.path)!r})"


def safe_path(path: str) -> str:
    """``path`` fit for a log line, an error or a ``repr``: the CPR number in
    ``/v1/children/{cpr}/...`` masked, and a FHIR search's query string (its
    ``identifier=...|<cpr>``) left out."""
    if "identifier=" in path:  # a FHIR search names the child in its query string
        return path.split("?", 1)[0] + "?***"
    if path.startswith(_CHILDREN):
        rest = path[len(_CHILDREN) :]
        tail = rest.split("/", 1)[1] if "/" in rest else ""
        return f"{_CHILDREN}***/{tail}"
    return path


class NoAnswer(ConnectionError):
    """No answer came: ``kind`` names what the transport's library said (its class name, e.g.
    ``ClientConnectorError``), never its text."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Response:
    """The hub's answer; :meth:`header` finds a header whatever the case of its name."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    @property
    def content_type(self) -> str:
        """The media type alone, lower case (``application/problem+json``)."""
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()


class Transport(Protocol):
    """Sends a request, returns the answer; raises ``OSError`` when none came."""

    async def __call__(self, request: Request) -> Response: ...

    async def close(self) -> None: ...


class TransportClient:
    """A client sending its requests through one :class:`Transport` (``_transport``) to
    ``base_url``; closing the client closes the transport."""

    base_url: str
    _transport: Transport

    def __repr__(self) -> str:  # never the token
        return f"{type(self).__name__}({self.base_url!r})"

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class AiohttpTransport:
    """The real transport: HTTP(S) to ``base_url`` over one pooled aiohttp session."""

    def __init__(
        self,
        base_url: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        connections: int = 32,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._ssl = ssl_context
        self._connections = connections
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"AiohttpTransport({self.base_url!r})"

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._connections, ssl=self._ssl if self._ssl is not None else True
                ),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            )
        return self._session

    async def __call__(self, request: Request) -> Response:
        session = self._open()
        timeout = aiohttp.ClientTimeout(total=request.timeout or self._timeout)
        try:
            async with session.request(
                request.method,
                self.base_url + request.path,
                data=request.body,
                headers=dict(request.headers),
                timeout=timeout,
            ) as answer:
                body = await answer.read()
                headers = {name.lower(): value for name, value in answer.headers.items()}
                return Response(answer.status, headers, body)
        except aiohttp.ClientError as exc:  # aiohttp's errors stop here, by name only
            kind = type(exc).__name__
        raise NoAnswer(kind)  # outside the except block: aiohttp's error is not its context

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


Answer = Callable[[Request], Response | Awaitable[Response]]


class MockTransport:
    """Answers every request with ``answer(request)`` (a function or a coroutine function);
    raising ``OSError`` in it stands for a hub that does not answer. Nothing goes on a wire."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self.closed = False

    async def __call__(self, request: Request) -> Response:
        answer = self._answer(request)
        if inspect.isawaitable(answer):
            return await answer
        return answer

    async def close(self) -> None:
        self.closed = True
