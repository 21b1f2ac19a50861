"""The hub's HTTP door holds against what clients really send, on SQLite and PostgreSQL:

* a request aiohttp cannot parse (a control byte in the path or a header, a space in the
  path, a line too long) is a problem+json 400, and neither the CPR nor the token it held is
  in any log record;
* a number in the query string is ASCII digits in its documented range, else a 400 naming
  the parameter (``²`` and fullwidth digits included), never a 500;
* a person's name in ``X-On-Behalf-Of`` sent as ISO-8859-1 or UTF-8 bytes is stored as
  written; control characters and over-long names are a 400, never a 5xx;
* the failed-login limit never refuses a valid credential, and keys on the client's address
  from ``X-Forwarded-For`` only when the peer is a trusted proxy.

Malformed requests and non-UTF-8 headers go over a raw socket, byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from sqlalchemy import select

from coordinator.app import create_app
from coordinator.errors import ConfigError
from coordinator.index.tables import Consent
from coordinator.protocol import HubRunner
from coordinator.security.auth import FAILURES
from coordinator.settings import Settings
from coordinator.state import ENGINE
from coordinator.tables import Role, Sector
from tests.functional.conftest import FAMILY_GLN, PPR_GLN, Client, Hub, MakeHub
from tests.functional.index_samples import case, consent, cpr_aged, ok

Reply = tuple[int, dict[str, str], Any]


async def raw(hub: Hub, request: bytes) -> Reply:
    """Send ``request`` as it is on a new connection; the status, headers and parsed body."""
    host, port = hub.base.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=30)  # the hub closes
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    parsed = json.loads(body) if "json" in headers.get("content-type", "") else body
    return int(status_line.split()[1]), headers, parsed


def http(
    method: str, target: bytes, headers: Sequence[tuple[bytes, bytes]] = (), body: bytes = b""
) -> bytes:
    """A request as bytes: the request line, ``Host``, ``headers`` as given, the body."""
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: hub"]
    lines += [name + b": " + value for name, value in headers]
    lines += [b"Connection: close", b"Content-Length: " + str(len(body)).encode()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def bearer(client: Client) -> tuple[bytes, bytes]:
    return b"Authorization", b"Bearer " + client.token.encode()


def _problem(reply: Reply, status: int, code: str) -> dict[str, Any]:
    got, headers, body = reply
    assert got == status, body
    assert headers["content-type"].startswith("application/problem+json")
    assert (body["status"], body["code"]) == (status, code)
    assert body["detail"]
    problem: dict[str, Any] = body
    return problem


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every record as a handler would write it: message, exception and stack."""
    formatter = logging.Formatter()
    out = []
    for record in caplog.records:
        text = f"{record.name} {record.levelname} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + formatter.formatException(record.exc_info)
        if record.exc_text:
            text += "\n" + record.exc_text
        if record.stack_info:
            text += "\n" + record.stack_info
        out.append(text)
    return "\n".join(out)


# --- 1. requests aiohttp cannot parse --------------------------------------------------------


async def test_a_malformed_request_is_a_400_problem_and_nothing_it_held_is_logged(
    make_hub: MakeHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hub = await make_hub()
    ppr = await hub.org(PPR_GLN)
    cpr = cpr_aged(10)
    token = ppr.token.encode()
    overview = f"/v1/children/{cpr}/overview".encode()
    requests = [
        http("GET", overview.replace(b"/overview", b"\x01/overview"), [bearer(ppr)]),
        http("GET", overview.replace(cpr[4:].encode(), b" " + cpr[4:].encode()), [bearer(ppr)]),
        http("GET", b"/v1/inbox", [(b"Authorization", b"Bearer " + token + b"\x01")]),
        http("GET", overview, [bearer(ppr), (b"X-On-Behalf-Of", b"Bo\x00Laege")]),
        http("GET", overview + b"?pad=" + b"x" * 9000, [bearer(ppr)]),
        http("GET", b"/v1/inbox", [(b"X-Note", cpr.encode() + b"\x7f"), bearer(ppr)]),
    ]
    for request in requests:
        reply = await raw(hub, request)
        _problem(reply, 400, "malformed-request")
        assert cpr not in json.dumps(reply[2])
        assert ppr.token not in json.dumps(reply[2])
    assert (await ppr.request("GET", "/v1/inbox"))[0] == 200  # the door still opens
    async with hub.session.get(hub.base + "/metrics") as response:
        metrics = await response.text()
    assert f'samspil_problems_total{{code="malformed-request"}} {len(requests)}' in metrics

    logged = _logged(caplog)
    assert logged.count("malformed-request") == len(requests)  # the capture saw them
    assert cpr not in logged
    assert ppr.token not in logged
    assert cpr[4:] not in logged  # not even half of it


async def test_under_a_plain_runner_aiohttp_logs_no_request_text(
    hub_db: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The tests' and tools' hubs run ``create_app`` under aiohttp's own runner: its error
    log withholds the exception's text, and there is no access log."""
    caplog.set_level(logging.DEBUG)
    settings = Settings(environment="test", data_dir=tmp_path, database_url=hub_db).check()
    runner = web.AppRunner(create_app(settings))  # access log on, as aiohttp defaults
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        hub = Hub(runner.app, f"http://{host}:{port}", None)  # type: ignore[arg-type]
        cpr = cpr_aged(10)
        status, _, _ = await raw(hub, http("GET", f"/v1/children/{cpr}\x01/x".encode()))
        assert status == 400
        status, _, _ = await raw(hub, http("GET", f"/v1/children/{cpr}/overview".encode()))
        assert status == 401
    finally:
        await runner.cleanup()
    logged = _logged(caplog)
    assert "InvalidURLError (its text withheld)" in logged  # the capture saw it
    assert cpr not in logged


async def test_an_error_outside_the_application_is_a_500_problem_without_its_text(
    hub_db: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception no middleware turned into a problem (one raised before the problem
    middleware runs) reaches aiohttp's handler: a problem+json 500, its text not logged."""
    caplog.set_level(logging.DEBUG)
    cpr = cpr_aged(10)

    @web.middleware
    async def failing(request: web.Request, handler: Any) -> web.StreamResponse:
        raise RuntimeError(f"a message quoting {request.path}")

    settings = Settings(environment="test", data_dir=tmp_path, database_url=hub_db).check()
    app = create_app(settings)
    app.middlewares.insert(0, failing)
    runner = HubRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        hub = Hub(runner.app, f"http://{host}:{port}", None)  # type: ignore[arg-type]
        reply = await raw(hub, http("GET", f"/v1/children/{cpr}/overview".encode()))
        _problem(reply, 500, "internal")
    finally:
        await runner.cleanup()
    logged = _logged(caplog)
    assert "RuntimeError (its text withheld)" in logged  # the capture saw it
    assert cpr not in logged


# --- 2. numbers in the query string ----------------------------------------------------------

NOT_NUMBERS = (
    "²",
    "１２",
    "٣",
    "1_0",
    "+5",
    " 5",
    "5 ",
    "",
    "-1",
    "0x10",
    "1e2",
    "5.0",
    "9" * 5000,
)


async def test_a_query_number_is_ascii_digits_in_its_range_or_a_400_naming_it(
    make_hub: MakeHub,
) -> None:
    hub = await make_hub()
    ppr = await hub.org(PPR_GLN)
    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    cpr = cpr_aged(10)
    await ok(ppr, "PUT", "/v1/cases/C-1", case(cpr))
    person = {"X-On-Behalf-Of": "Dorte Hansen"}
    routes: list[tuple[Client, str, str, int]] = [
        (ppr, "/v1/access-notifications", "limit", 1000),
        (ppr, f"/v1/children/{cpr}/access-log", "limit", 5000),
        (operator, "/v1/operator/audit", "limit", 1000),
        (operator, "/v1/operator/throughput", "minutes", 1440),
        (operator, f"/v1/operator/organisations/{PPR_GLN}/queue", "limit", 1000),
        (ppr, "/v1/inbox", "limit", 1000),
        (ppr, "/v1/outbox", "limit", 1000),
    ]
    for client, path, name, high in routes:
        for bad in (*NOT_NUMBERS, "0", str(high + 1), "0" * 30 + str(high + 1)):
            status, body, _ = await client.request(
                "GET", f"{path}?{name}={quote(bad)}", headers=person
            )
            assert (status, body["code"]) == (400, "bad-request"), (path, bad, body)
            assert f"{name} must be a whole number from 1 to {high}" in body["detail"]
        for good in ("1", "007", str(high)):
            status, body, _ = await client.request("GET", f"{path}?{name}={good}", headers=person)
            assert status == 200, (path, good, body)


async def test_a_query_duration_is_an_ascii_decimal_in_its_range(make_hub: MakeHub) -> None:
    hub = await make_hub()
    ppr = await hub.org(PPR_GLN)
    for name in ("wait", "lease"):
        for bad in ("²", "１", "٣", "1_0", "nan", "inf", "-inf", " 1", "", "0x1", "1e999"):
            status, body, _ = await ppr.request("GET", f"/v1/inbox?{name}={quote(bad)}")
            assert (status, body["code"]) == (400, "bad-request"), (name, bad, body)
            assert body["detail"].startswith(f"{name} must be")
        for good in ("0", "0.01", "1e-3", ".01"):
            status, body, _ = await ppr.request("GET", f"/v1/inbox?{name}={good}")
            assert status == 200, (name, good, body)


# --- 3. a person's name in a header ----------------------------------------------------------


async def test_a_danish_name_in_iso_8859_1_or_utf_8_is_stored_as_written(
    make_hub: MakeHub,
) -> None:
    hub = await make_hub()
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    family = await hub.org(FAMILY_GLN, Sector.FAMILY, "Familieafdelingen")
    cpr = cpr_aged(10)
    await ok(ppr, "PUT", "/v1/cases/C-1", case(cpr))
    await ok(family, "PUT", "/v1/cases/F-1", case(cpr, kind="family-support"))
    children = f"/v1/children/{cpr}".encode()
    latin1 = (b"X-On-Behalf-Of", "Bo Læge".encode("latin-1"))
    utf8 = (b"X-On-Behalf-Of", "Åse Ørum-Bæk".encode())

    body = json.dumps(consent(["ppr", "family"])).encode()
    json_type = (b"Content-Type", b"application/json")
    status, _, recorded = await raw(
        hub, http("POST", children + b"/consents", [bearer(ppr), latin1, json_type], body)
    )
    assert status == 201, recorded
    status, _, shown = await raw(hub, http("GET", children + b"/overview", [bearer(family), utf8]))
    assert status == 200, shown
    assert shown["others"]["cases"]  # PPR's case was disclosed, so the view was logged
    status, _, log = await raw(hub, http("GET", children + b"/access-log", [bearer(ppr), latin1]))
    assert status == 200, log
    assert [(e["organisation"], e["person"]) for e in log["entries"]] == [
        (FAMILY_GLN, "Åse Ørum-Bæk")
    ]
    status, _, log = await raw(hub, http("GET", children + b"/access-log", [bearer(family)]))
    assert status == 200, log
    assert [(e["organisation"], e["person"]) for e in log["entries"]] == [
        (PPR_GLN, "Bo Læge"),  # PPR's read of the log showed the family department's view
        (FAMILY_GLN, "Åse Ørum-Bæk"),
    ]
    async with hub.app[ENGINE].connect() as conn:
        stored = (await conn.execute(select(Consent.recorded_by))).scalars().all()  # type: ignore[call-overload]
    assert stored == ["Bo Læge"]


async def test_a_name_with_control_characters_or_too_long_is_a_400(make_hub: MakeHub) -> None:
    hub = await make_hub()
    ppr = await hub.org(PPR_GLN)
    cpr = cpr_aged(10)
    await ok(ppr, "PUT", "/v1/cases/C-1", case(cpr))
    overview = f"/v1/children/{cpr}/overview".encode()
    for name in (
        b"Bo\x85L\xe6ge",  # a C1 control (NEL) read as ISO-8859-1
        "Bo\u0085Læge".encode(),  # the same in UTF-8
        b"Bo\tL\xe6ge",  # a tab is a control character too
        "Bo \u202eegæL".encode(),  # a right-to-left override
        "Bo\u2028Læge".encode(),  # a line separator
        b"\xed\xa0\x80",  # an encoded surrogate: not UTF-8; as ISO-8859-1 it ends in a C1
        "æ".encode("latin-1") * 201,
        "æ".encode() * 201,
        b"   ",
    ):
        reply = await raw(hub, http("GET", overview, [bearer(ppr), (b"X-On-Behalf-Of", name)]))
        _problem(reply, 400, "invalid-on-behalf-of")
    for name in ("æ".encode("latin-1") * 200, "æ".encode() * 200, b"  Bo L\xe6ge  "):
        reply = await raw(hub, http("GET", overview, [bearer(ppr), (b"X-On-Behalf-Of", name)]))
        assert reply[0] == 200, reply


async def test_a_token_that_is_not_ascii_is_a_401_not_a_500(make_hub: MakeHub) -> None:
    hub = await make_hub()
    await hub.org(PPR_GLN)
    for token in (b"smp_\xe6\xff", "smp_æ".encode(), b"smp_\xed\xa0\x80"):
        authorization = (b"Authorization", b"Bearer " + token)
        _problem(await raw(hub, http("GET", b"/v1/whoami", [authorization])), 401, "unauthorized")


# --- 4. the failed-login limit ---------------------------------------------------------------


async def _guess(hub: Hub, forwarded: str | None = None) -> tuple[int, str]:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    guess = hub.anonymous(f"smp_{secrets.token_urlsafe(32)}")
    status, body, _ = await guess.request("GET", "/v1/whoami", headers=headers)
    return status, body["code"]


async def test_a_valid_token_is_never_refused_by_the_failed_login_limit(
    make_hub: MakeHub,
) -> None:
    hub = await make_hub(login_failures_per_minute=20)
    now = [1000.0]
    hub.app[FAILURES].clock = lambda: now[0]  # the limit's minute, without waiting for it
    ppr = await hub.org(PPR_GLN)
    for attempt in range(20):
        assert await _guess(hub) == (401, "unauthorized"), attempt
        now[0] += 1
    assert await _guess(hub) == (429, "too-many-failures")
    for _ in range(3):
        assert (await ppr.request("GET", "/v1/whoami"))[0] == 200  # the careless one's partner
        assert await _guess(hub) == (429, "too-many-failures")
    now[0] += 40  # the first failure is a minute old: one more may fail before the limit
    assert await _guess(hub) == (401, "unauthorized")
    assert await _guess(hub) == (429, "too-many-failures")
    now[0] += 61  # all of them are
    assert await _guess(hub) == (401, "unauthorized")


async def test_behind_a_trusted_proxy_the_limit_keys_on_the_forwarded_client(
    make_hub: MakeHub,
) -> None:
    hub = await make_hub(login_failures_per_minute=3, trusted_proxies=("127.0.0.1", "10.0.0.0/8"))
    hub.app[FAILURES].clock = lambda: 1000.0
    ppr = await hub.org(PPR_GLN)
    careless, partner = "203.0.113.7", "198.51.100.9"
    for _ in range(3):
        assert await _guess(hub, careless) == (401, "unauthorized")
    assert await _guess(hub, careless) == (429, "too-many-failures")
    assert await _guess(hub, partner) == (401, "unauthorized")  # not locked out with it
    for forwarded in (
        f"{partner}, {careless}",  # the left entry is the client's word: ignored
        f"{careless}, 10.1.2.3",  # an inner trusted proxy is skipped
        f"{careless}:51234",
        f"not-an-address, {careless}",
    ):
        assert await _guess(hub, forwarded) == (429, "too-many-failures"), forwarded
    status, _, _ = await ppr.request("GET", "/v1/whoami", headers={"X-Forwarded-For": careless})
    assert status == 200
    # a garbled header ends the walk at the proxy: it counts for the proxy, not for a client
    for _ in range(3):
        assert await _guess(hub, f"{careless}, garbage") == (401, "unauthorized")
    assert await _guess(hub, "garbage") == (429, "too-many-failures")
    assert await _guess(hub, "192.0.2.99") == (401, "unauthorized")


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(make_hub: MakeHub) -> None:
    hub = await make_hub(login_failures_per_minute=3)  # no trusted proxies: the peer counts
    hub.app[FAILURES].clock = lambda: 1000.0
    for n in range(3):
        assert await _guess(hub, f"192.0.2.{n}") == (401, "unauthorized")
    assert await _guess(hub, "192.0.2.200") == (429, "too-many-failures")  # a new "address"
    assert await _guess(hub) == (429, "too-many-failures")


def test_trusted_proxies_are_read_from_the_environment() -> None:
    settings = Settings.from_env({"SAMSPIL_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.10 ,::1"})
    assert settings.trusted_proxies == ("10.0.0.0/8", "192.0.2.10", "::1")
    assert Settings.from_env({}).trusted_proxies == ()
    for bad in ("lb.internal", "10.0.0.0/33", "10.0.0.1 10.0.0.2"):
        with pytest.raises(ConfigError, match="SAMSPIL_TRUSTED_PROXIES"):
            Settings.from_env({"SAMSPIL_TRUSTED_PROXIES": bad})
