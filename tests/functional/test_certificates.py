"""Client certificates follow their organisation's credential, and one can be revoked on its
own: the real hub over real TLS on a real port, on SQLite and PostgreSQL.

A certificate authenticates only while its organisation's system credential is enabled and
unexpired (by the hub's injected clock); a revoked serial number is refused with its own code
on the next request — in this hub process, in another on the same database, and after
``samspil org cert revoke`` from another OS process — while the organisation's other
certificates keep working.
"""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from coordinator.security.tls import (
    InvalidSerial,
    parse_serial,
    serial_from_peercert,
)
from coordinator.sqltypes import utcnow
from coordinator.state import Clock
from coordinator.tables import Sector
from samspil.cli import main
from tests.functional.conftest import (
    GP_GLN,
    PPR_GLN,
    Servers,
    TurnedClock,
    gln,
)
from tests.functional.pki import Pki, serial_of
from tests.functional.test_cli import samspil
from tests.functional.tls_hub import TlsHub, tls_settings

MakeTlsHub = Callable[..., Awaitable[TlsHub]]


@pytest.fixture
async def make_tls_hub(hub_db: str, pki: Pki, tmp_path: Path) -> AsyncIterator[MakeTlsHub]:
    """Hubs with mutual TLS on ``hub_db`` (each call: another hub process's app on the same
    database), caching verified credentials for a minute: a revocation must not wait for it."""
    servers = Servers()

    async def make(clock: Clock | None = None) -> TlsHub:
        settings = tls_settings(pki, tmp_path, hub_db, token_cache_seconds=60)
        app, port = await servers.start(settings, clock)
        return TlsHub(app, f"https://127.0.0.1:{port}", port, pki)

    yield make
    await servers.stop()


async def refused(hub: TlsHub, cert: Path, hub_db: str) -> tuple[int, str | None]:
    """``whoami`` with ``cert`` once a revocation made elsewhere has reached ``hub``: on SQLite
    the very next request (the marker file); on PostgreSQL once the NOTIFY has arrived."""
    answer = await hub.whoami(cert)
    for _ in range(3000):  # a bound (30 s) for a busy machine, not a wait: 401 ends it
        if answer[0] == 401 or hub_db.startswith("sqlite"):
            break
        await asyncio.sleep(0.01)
        answer = await hub.whoami(cert)
    return answer


async def samspil_here(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``samspil ARGV`` run in this process, in a thread (it runs its own event loop): its
    exit code, stdout and stderr."""
    code = await asyncio.to_thread(main, list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _cli_env(tmp_path: Path, db: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMSPIL_")}
    env["SAMSPIL_DATA_DIR"] = str(tmp_path)
    env["SAMSPIL_DATABASE_URL"] = db
    return env


# --- the certificate follows the credential ------------------------------------------------


async def test_a_certificate_stops_when_its_organisations_credential_expires(
    make_tls_hub: MakeTlsHub, pki: Pki
) -> None:
    clock = TurnedClock()
    hub = await make_tls_hub(clock)
    token = await hub.org(GP_GLN, Sector.GP, expires_at=utcnow() + timedelta(hours=1))
    await hub.org(PPR_GLN, Sector.PPR)  # never expires
    gp, ppr = pki.client("gp", f"GLN:{GP_GLN}"), pki.client("ppr", f"GLN:{PPR_GLN}")
    assert await hub.whoami(gp) == (200, None)  # and cached, for a minute
    clock.turn(timedelta(minutes=59))
    assert await hub.whoami(gp) == (200, None)
    clock.turn(timedelta(minutes=1, seconds=1))
    assert await hub.whoami(gp) == (401, "credential-expired")
    status, body = await hub.call("GET", "/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert (status, body["code"]) == (401, "token-expired")  # one clock for both
    assert await hub.whoami(ppr) == (200, None)


async def test_a_certificate_stops_when_its_organisation_is_disabled(
    make_tls_hub: MakeTlsHub, pki: Pki
) -> None:
    hub = await make_tls_hub()
    await hub.org(GP_GLN, Sector.GP)
    await hub.org(PPR_GLN, Sector.PPR)
    operator = await hub.operator(PPR_GLN)
    gp = pki.client("gp", f"GLN:{GP_GLN}")
    assert await hub.whoami(gp) == (200, None)
    path = f"/v1/operator/organisations/{GP_GLN}"
    assert (await hub.call("POST", f"{path}/disable", headers=operator))[0] == 200
    assert await hub.whoami(gp) == (401, "unknown-certificate")
    assert (await hub.call("POST", f"{path}/enable", headers=operator))[0] == 200
    assert await hub.whoami(gp) == (200, None)


# --- a certificate revoked on its own ------------------------------------------------------


async def test_a_certificate_revoked_at_the_command_line_is_refused_on_its_next_request(
    make_tls_hub: MakeTlsHub,
    pki: Pki,
    hub_db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = await make_tls_hub()
    await hub.org(GP_GLN, Sector.GP)
    await hub.org(PPR_GLN, Sector.PPR)
    # a serial whose first byte is under 0x10: Python reads it as "0F00BA12"
    lost = pki.client("gp-lost", f"GLN:{GP_GLN}", serial=0x0F00BA12)
    kept = pki.client("gp-kept", f"GLN:{GP_GLN}")
    assert await hub.whoami(lost) == (200, None)
    assert await hub.whoami(kept) == (200, None)
    env = _cli_env(tmp_path, hub_db)
    revoked = await asyncio.to_thread(
        samspil,
        "org",
        "cert",
        "revoke",
        "--gln",
        GP_GLN,
        "--serial",
        "serial=0F00BA12",  # as 'openssl x509 -noout -serial' prints it
        "--reason",
        "laptop stolen from the clinic",
        env=env,
    )
    assert "f00ba12" in revoked.stderr
    assert await refused(hub, lost, hub_db) == (401, "certificate-revoked")
    assert await hub.whoami(kept) == (200, None)
    # the rest in this process: the command line's code, without another interpreter's start
    monkeypatch.setenv("SAMSPIL_DATA_DIR", str(tmp_path))
    code, listed, _ = await samspil_here(
        capsys, "org", "cert", "list", "--db", hub_db, "--gln", GP_GLN
    )
    serial, _at, who, reason = listed.strip().split("  ")
    assert (code, serial, reason) == (0, "f00ba12", "laptop stolen from the clinic")
    assert who.startswith(f"{getpass.getuser()}@")
    revoke = ("org", "cert", "revoke", "--db", hub_db, "--gln", GP_GLN, "--serial")
    code, _, err = await samspil_here(capsys, *revoke, "0xf00ba12")
    assert (code, "certificate-already-revoked" in err) == (2, True), err
    code, _, err = await samspil_here(capsys, *revoke, "g00d")
    assert (code, "invalid-serial" in err) == (2, True), err


async def test_a_certificate_revoked_by_an_operator_is_refused_and_audited(
    make_tls_hub: MakeTlsHub, pki: Pki
) -> None:
    hub = await make_tls_hub()
    await hub.org(GP_GLN, Sector.GP)
    ppr_token = await hub.org(PPR_GLN, Sector.PPR)
    operator = await hub.operator(PPR_GLN)
    lost, kept = pki.client("lost", f"GLN:{GP_GLN}"), pki.client("kept", f"GLN:{GP_GLN}")
    serial = serial_of(lost)
    assert await hub.whoami(lost) == (200, None)
    path = f"/v1/operator/organisations/{GP_GLN}/revoked-certificates"
    typed = "0x" + ":".join(f"{serial:X}"[i : i + 2] for i in range(0, len(f"{serial:X}"), 2))
    status, body = await hub.call(
        "POST", path, headers=operator, json={"serial": typed, "reason": "lost"}
    )
    assert status == 201, body
    assert (body["serial"], body["organisation"], body["reason"]) == (
        f"{serial:x}",
        GP_GLN,
        "lost",
    )
    assert body["revoked_by"] == "Ole Operatør"
    assert await hub.whoami(lost) == (401, "certificate-revoked")
    assert await hub.whoami(kept) == (200, None)

    status, listed = await hub.call("GET", path, headers=operator)
    assert status == 200
    assert [c["serial"] for c in listed["certificates"]] == [f"{serial:x}"]
    _, audit = await hub.call("GET", "/v1/operator/audit", headers=operator)
    entry = audit["entries"][0]
    assert (entry["action"], entry["target"], entry["actor"]) == (
        "revoke-certificate",
        GP_GLN,
        "Ole Operatør",
    )
    assert f"{serial:x}" in entry["result"]

    # refused: twice, a serial that is not hexadecimal, an unknown organisation, a system
    for who, where, payload, expected in (
        (operator, path, {"serial": f"{serial:x}"}, (409, "certificate-already-revoked")),
        (operator, path, {"serial": "0xZZ"}, (422, "invalid-serial")),
        (operator, path, {"serial": "ab", "reason": "a\nb"}, (422, "invalid-reason")),
        (operator, path, {"serial": "ab", "why": "x"}, (422, "invalid-revocation")),
        (operator, path.replace(GP_GLN, "5790000000000"), {"serial": "ab"}, (400, "invalid-gln")),
        (operator, path.replace(GP_GLN, gln(9999)), {"serial": "ab"}, (404, "not-found")),
        ({"Authorization": f"Bearer {ppr_token}"}, path, {"serial": "ab"}, (403, "forbidden")),
    ):
        status, body = await hub.call("POST", where, headers=who, json=payload)
        assert (status, body["code"]) == expected, (payload, body)
    # a revoked serial is refused whatever GLN its certificate names (fail closed): the hub
    # cannot tell, when told, which organisation the CA gave a serial to
    other = pki.client("ppr", f"GLN:{PPR_GLN}", serial=serial)
    assert await hub.whoami(other) == (401, "certificate-revoked")


async def test_a_revocation_in_one_hub_process_is_effective_in_another(
    make_tls_hub: MakeTlsHub, pki: Pki, hub_db: str
) -> None:
    first, second = await make_tls_hub(), await make_tls_hub()
    await first.org(GP_GLN, Sector.GP)
    await first.org(PPR_GLN, Sector.PPR)
    operator = await first.operator(PPR_GLN)
    lost, kept = pki.client("lost", f"GLN:{GP_GLN}"), pki.client("kept", f"GLN:{GP_GLN}")
    for hub in (first, second):  # each process has verified (and cached) the certificate
        assert await hub.whoami(lost) == (200, None)
    status, _ = await first.call(
        "POST",
        f"/v1/operator/organisations/{GP_GLN}/revoked-certificates",
        headers=operator,
        json={"serial": f"{serial_of(lost):x}"},
    )
    assert status == 201
    assert await first.whoami(lost) == (401, "certificate-revoked")
    assert await refused(second, lost, hub_db) == (401, "certificate-revoked")
    assert await second.whoami(kept) == (200, None)


# --- serial numbers as typed and as read from a certificate --------------------------------


def test_serial_numbers_are_read_alike_however_written() -> None:
    for written in ("0F00BA12", "0x0f00ba12", "0F:00:BA:12", "serial=0F00BA12", " f00ba12 "):
        assert parse_serial(written) == "f00ba12", written
    assert parse_serial("00") == "0"
    assert parse_serial("0a " * 20) == "a" + "0a" * 19
    for bad in ("", "0x", "serial=", "g1", "-1A", "1.5", "０１", "a" * 65):
        with pytest.raises(InvalidSerial):
            parse_serial(bad)
    assert serial_from_peercert({"serialNumber": "00AB"}) == "ab"
    assert serial_from_peercert({"serialNumber": "-0AB"}) is None
    assert serial_from_peercert({}) is None
