"""The hub client's answers and errors, through a mock transport (nothing on the network),
and what its errors may say when the real transport meets a hub that answers nonsense.

What each kind of answer becomes: a 429 or 503 is "unavailable" (with the seconds the hub
asked for), a 401 or a 403 ``forbidden`` refuses the credential, a 422 problem is refused
with its code, no connection at all is unavailable with status 0."""

from __future__ import annotations

import asyncio
import json
import socket
import traceback
from typing import Any

import pytest

from wire.client import HubClient
from wire.errors import (
    CredentialRefused,
    HubAnswerUnreadable,
    HubError,
    HubRefused,
    HubUnavailable,
)
from wire.transport import MockTransport, Request, Response

CPR = "1203164321"
PROBLEM = "application/problem+json"
JSON_TYPE = "application/json"


def problem(status: int, code: str, detail: str, **headers: str) -> Response:
    body = {"type": f"https://samspil.dk/problems/{code}", "status": status}
    body |= {"code": code, "detail": detail}
    return Response(status, {"content-type": PROBLEM, **headers}, json.dumps(body).encode())


def client_answering(answer: Response | Exception, seen: list[Request] | None = None) -> HubClient:
    def respond(request: Request) -> Response:
        if seen is not None:
            seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return HubClient("http://hub.test", "smp_secret", transport=MockTransport(respond))


async def test_429_is_unavailable_with_the_seconds_to_wait() -> None:
    hub = client_answering(
        problem(429, "rate-limited", "too many requests", **{"retry-after": "7"})
    )
    with pytest.raises(HubUnavailable) as caught:
        await hub.submit(b"<Emessage/>")
    assert caught.value.status == 429
    assert caught.value.code == "rate-limited"
    assert caught.value.retry_after == 7.0
    assert not isinstance(caught.value, HubRefused)


async def test_503_is_unavailable() -> None:
    hub = client_answering(problem(503, "database-unavailable", "later", **{"Retry-After": "2"}))
    with pytest.raises(HubUnavailable) as caught:
        await hub.inbox(50, wait=5)
    assert (caught.value.status, caught.value.code) == (503, "database-unavailable")
    assert caught.value.retry_after == 2.0


async def test_a_5xx_without_a_problem_or_a_date_for_retry_after_is_still_unavailable() -> None:
    hub = client_answering(Response(502, {"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}))
    with pytest.raises(HubUnavailable) as caught:
        await hub.whoami()
    assert (caught.value.status, caught.value.code) == (502, "hub-unavailable")
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("status", "code"), [(401, "unauthorized"), (401, "token-expired"), (403, "forbidden")]
)
async def test_a_refused_credential_is_its_own_refusal(status: int, code: str) -> None:
    hub = client_answering(problem(status, code, "not with this token"))
    with pytest.raises(CredentialRefused) as caught:
        await hub.outbox()
    assert (caught.value.status, caught.value.code) == (status, code)
    assert caught.value.detail == "not with this token"
    assert isinstance(caught.value, HubRefused)


async def test_a_403_about_the_one_request_does_not_refuse_the_credential() -> None:
    hub = client_answering(problem(403, "no-active-case", "no active case of yours"))
    with pytest.raises(HubRefused) as caught:
        await hub.overview(CPR, on_behalf_of="Pia Psykolog")
    assert not isinstance(caught.value, CredentialRefused)
    assert caught.value.code == "no-active-case"
    assert CPR not in str(caught.value)  # the path in the message is masked
    assert "/v1/children/***/overview" in str(caught.value)


async def test_a_401_without_a_problem_still_refuses_the_credential() -> None:
    hub = client_answering(Response(401, {"content-type": "text/plain"}, b"go away"))
    with pytest.raises(CredentialRefused) as caught:
        await hub.whoami()
    assert caught.value.status == 401
    assert caught.value.detail == "the hub answered 401"


async def test_422_problem_is_refused_with_its_code_and_sentence() -> None:
    hub = client_answering(
        problem(422, "ukendt_lokationsnummer", "the receiver is not registered at the hub")
    )
    with pytest.raises(HubRefused) as caught:
        await hub.submit(b"<Emessage/>")
    error = caught.value
    assert not isinstance(error, (CredentialRefused, HubUnavailable))
    assert (error.status, error.code) == (422, "ukendt_lokationsnummer")
    assert error.detail == "the receiver is not registered at the hub"
    assert str(error) == "POST /v1/messages: 422 the receiver is not registered at the hub"


async def test_a_4xx_without_a_problem_gets_a_code_from_its_status() -> None:
    hub = client_answering(Response(404, {"content-type": "text/html"}, b"<h1>no</h1>"))
    with pytest.raises(HubRefused) as caught:
        await hub.trail("7f3a")
    assert (caught.value.status, caught.value.code) == (404, "http-404")


async def test_connection_refused_is_unavailable_without_a_status() -> None:
    hub = client_answering(ConnectionRefusedError(111, "Connection refused"))
    with pytest.raises(HubUnavailable) as caught:
        await hub.consents(CPR)
    error = caught.value
    assert (error.status, error.code, error.retry_after) == (0, "hub-unavailable", None)
    assert "ConnectionRefusedError" in str(error)
    assert CPR not in str(error)
    assert isinstance(error.__cause__, ConnectionRefusedError)


async def test_a_timeout_is_unavailable() -> None:
    hub = client_answering(TimeoutError())
    with pytest.raises(HubUnavailable):
        await hub.healthz()


async def test_every_error_is_a_hub_error_and_a_bug_is_not() -> None:
    hub = client_answering(KeyError("no such route"))
    with pytest.raises(KeyError):  # not the hub's fault: not dressed up as one
        await hub.whoami()
    assert issubclass(HubUnavailable, HubError)
    assert issubclass(CredentialRefused, HubError)


async def test_what_is_sent_and_what_comes_back() -> None:
    seen: list[Request] = []
    answers: dict[str, Any] = {
        "/v1/messages": {"id": "m1", "status": "accepted"},
        f"/v1/children/{CPR}/consents": {"id": "c1"},
        f"/v1/children/{CPR}/consents/c1/dispute": {"consent_id": "c1", "created": True},
        "/v1/inbox": {"messages": [{"id": "m2", "type": "XDIS91"}]},
    }

    def respond(request: Request) -> Response:
        seen.append(request)
        answer = answers[request.path.split("?")[0]]
        return Response(202, {"Content-Type": "application/json"}, json.dumps(answer).encode())

    hub = HubClient("http://hub.test", "smp_secret", transport=MockTransport(respond))
    sent = await hub.submit(b"<Emessage/>")
    assert sent == {"id": "m1", "status": "accepted", "duplicate": False, "resend": False}
    assert await hub.add_consent(CPR, {"scope": "overview"}) == {"id": "c1"}
    assert await hub.inbox(50, wait=20) == [{"id": "m2", "type": "XDIS91"}]
    assert (await hub.dispute_consent(CPR, "c1", "forged"))["created"] is True
    submit, consent, poll, dispute = seen
    assert (submit.method, submit.path, submit.body) == ("POST", "/v1/messages", b"<Emessage/>")
    assert submit.headers["Content-Type"] == "application/xml"
    assert submit.headers["Authorization"] == "Bearer smp_secret"
    assert consent.headers["Content-Type"] == "application/json"
    assert json.loads(consent.body or b"") == {"scope": "overview"}
    assert poll.path == "/v1/inbox?wait=20&limit=50"
    assert poll.timeout == 30.0  # the wait, and then the client's own timeout
    assert (dispute.method, json.loads(dispute.body or b"")) == ("POST", {"reason": "forged"})


async def test_a_certificate_alone_sends_no_authorization_and_ids_are_one_segment() -> None:
    seen: list[Request] = []
    xml = Response(200, {"content-type": "application/xml"}, b"<Emessage/>")

    def respond(request: Request) -> Any:
        seen.append(request)
        return xml

    hub = HubClient("http://hub.test", "", transport=MockTransport(respond))
    assert await hub.fetch("../admin") == b"<Emessage/>"
    assert "Authorization" not in seen[0].headers
    assert seen[0].path == "/v1/messages/..%2Fadmin"
    assert "secret" not in repr(hub)


async def test_the_real_transport_to_a_port_nobody_listens_on_is_unavailable() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, and is closed again
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with HubClient(f"http://127.0.0.1:{port}", "smp_secret", timeout=5.0) as hub:
        with pytest.raises(HubUnavailable) as caught:
            await hub.whoami()
    assert caught.value.status == 0
    assert "ClientConnectorError" in str(caught.value)
    assert "smp_secret" not in str(caught.value)


async def test_an_operator_states_the_reason_for_reading_a_childs_access_log() -> None:
    seen: list[Request] = []
    hub = client_answering(
        Response(200, {"content-type": "application/json"}, b'{"entries": []}'), seen
    )
    assert await hub.access_log(CPR, reason="Aktindsigt 2026-0113") == []
    assert await hub.access_log(CPR) == []
    with_reason, without = seen
    assert with_reason.path == without.path == f"/v1/children/{CPR}/access-log"
    assert with_reason.headers["X-Access-Reason"] == "Aktindsigt 2026-0113"
    assert "X-Access-Reason" not in without.headers


async def test_an_owners_notifications_are_read_newest_first_up_to_a_limit() -> None:
    seen: list[Request] = []
    hub = client_answering(
        Response(200, {"content-type": "application/json"}, b'{"notifications": []}'), seen
    )
    assert await hub.access_notifications() == []
    assert await hub.access_notifications(limit=1000) == []
    assert [request.path for request in seen] == [
        "/v1/access-notifications",
        "/v1/access-notifications?limit=1000",
    ]


def _told(error: BaseException) -> str:
    """Everything Python could ever print about ``error``: its text, its ``repr``, and the
    traceback with every cause and context in its chain."""
    return "\n".join([str(error), repr(error), *traceback.format_exception(error, chain=True)])


async def test_a_hub_that_answers_gibberish_leaves_no_token_or_cpr_in_the_error() -> None:
    # aiohttp's own error here holds the URL (with the CPR) and the request's headers
    async def gibberish(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1000)
        writer.write(b"not http at all\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(gibberish, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with HubClient(f"http://127.0.0.1:{port}", "smp_secret", timeout=5.0) as hub:
            with pytest.raises(HubUnavailable) as caught:
                await hub.overview(CPR)
    finally:
        server.close()
        await server.wait_closed()
    told = _told(caught.value)
    assert "ClientResponseError" in str(caught.value)  # what went wrong, by name
    for secret in (CPR, "smp_secret", "Bearer", "Authorization"):
        assert secret not in told, secret


def test_a_request_shows_neither_its_headers_nor_the_child() -> None:
    request = Request(
        "GET",
        f"/v1/children/{CPR}/overview",
        {"Authorization": "Bearer smp_secret"},
        b'{"child_cpr": "1203164321"}',
    )
    assert repr(request) == "Request('GET', '/v1/children/***/overview')"
    assert str(request) == repr(request)


async def test_an_answer_that_is_not_what_the_api_promises_is_unreadable() -> None:
    html = Response(200, {"content-type": "text/html"}, b"<h1>maintenance</h1>")
    with pytest.raises(HubAnswerUnreadable) as caught:
        await client_answering(html).whoami()
    assert (caught.value.status, caught.value.code) == (200, "unreadable-answer")
    assert isinstance(caught.value, HubUnavailable)  # an adapter tries again later
    wrong = Response(200, {"content-type": "application/json"}, b'{"messages": ["x"]}')
    with pytest.raises(HubAnswerUnreadable) as caught:
        await client_answering(wrong).inbox()
    assert (
        str(caught.value) == "GET /v1/inbox?limit=200: 200 but no list of objects under 'messages'"
    )
    deep = Response(200, {"content-type": "application/json"}, b"[" * 100_000)
    with pytest.raises(HubAnswerUnreadable):
        await client_answering(deep).consents(CPR)


async def test_a_new_token_is_sent_from_the_next_request_on() -> None:
    seen: list[Request] = []
    hub = client_answering(Response(200, {"content-type": JSON_TYPE}, b"{}"), seen)
    await hub.whoami()
    hub.use_token("smp_new")
    await hub.whoami()
    assert [r.headers["Authorization"] for r in seen] == ["Bearer smp_secret", "Bearer smp_new"]
    for unusable in ("smp_new\r\nX-Evil: 1", "smp_ny æ", "smp new"):
        with pytest.raises(ValueError, match="printable ASCII") as caught:
            hub.use_token(unusable)
        assert "smp" not in str(caught.value)
    hub.use_token("")
    await hub.whoami()
    assert "Authorization" not in seen[-1].headers
