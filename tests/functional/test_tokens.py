"""Tokens: revocation on the next request (in-process and from another process), rotation,
expiry, failed logins limited per source address, and the audit of every administrative
action — on SQLite and PostgreSQL, over real HTTP."""

from __future__ import annotations

import asyncio
import getpass
import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from coordinator.cli import parse_duration
from coordinator.errors import ConfigError
from coordinator.security.auth import VERIFIER
from coordinator.security.credentials import add_user, local_actor
from coordinator.sqltypes import utcnow
from coordinator.state import ENGINE
from coordinator.tables import Role, Sector
from tests.functional.conftest import GP_GLN, PPR_GLN, MakeHub
from tests.functional.test_cli import samspil


def _cli_env(tmp_path: Path, db: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMSPIL_")}
    env["SAMSPIL_DATA_DIR"] = str(tmp_path)
    env["SAMSPIL_DATABASE_URL"] = db
    return env


async def test_disabled_token_is_refused_on_its_next_request(make_hub: MakeHub) -> None:
    hub = await make_hub(token_cache_seconds=60)  # a long cache must not delay revocation
    gp = await hub.org(GP_GLN, Sector.GP)
    await hub.org(PPR_GLN)
    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    for _ in range(3):
        assert (await gp.request("GET", "/v1/whoami"))[0] == 200
    status, _, _ = await operator.request("POST", f"/v1/operator/organisations/{GP_GLN}/disable")
    assert status == 200
    status, body, _ = await gp.request("GET", "/v1/whoami")
    assert status == 401
    assert body["code"] == "unauthorized"


async def test_rotation_in_another_process_revokes_the_old_token_at_once(
    make_hub: MakeHub, hub_db: str, tmp_path: Path
) -> None:
    hub = await make_hub(token_cache_seconds=60)
    gp = await hub.org(GP_GLN, Sector.GP)
    await hub.org(PPR_GLN)
    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    assert (await gp.request("GET", "/v1/whoami"))[0] == 200  # cached where caching is on
    rotated = await asyncio.to_thread(
        samspil,
        "org",
        "token",
        "--gln",
        GP_GLN,
        "--expires-in",
        "90d",
        env=_cli_env(tmp_path, hub_db),
    )
    new_token = rotated.stdout.strip()
    assert new_token.startswith("smp_")
    assert new_token not in rotated.stderr
    # PostgreSQL: the NOTIFY travels to the hub's LISTEN connection; on a busy machine that
    # may take seconds, so wait up to 30 s for the settled state (no timing is asserted)
    for _ in range(3000):
        status, _, _ = await gp.request("GET", "/v1/whoami")
        if status == 401 or "sqlite" in hub_db:
            break
        await asyncio.sleep(0.01)
    assert status == 401, "the rotated-away token still works"
    gp.token = new_token
    assert (await gp.request("GET", "/v1/whoami"))[0] == 200
    # the monitor does not show the organisation as disabled, and enabling it again does not
    # bring the rotated-away token back
    _, orgs, _ = await operator.request("GET", "/v1/operator/organisations")
    assert not next(o for o in orgs["organisations"] if o["gln"] == GP_GLN)["token_disabled"]
    _, audit, _ = await operator.request("GET", "/v1/operator/audit")
    entry = audit["entries"][0]
    assert (entry["action"], entry["target"], entry["actor_organisation"]) == (
        "rotate-token",
        GP_GLN,
        "local",
    )
    assert entry["actor"].startswith(f"{getpass.getuser()}@")
    assert "1 revoked" in entry["result"]


async def test_a_person_disabled_in_another_process_is_refused_at_once(
    make_hub: MakeHub, hub_db: str, tmp_path: Path
) -> None:
    hub = await make_hub(token_cache_seconds=60)  # a long cache must not delay revocation
    ppr = await hub.org(PPR_GLN)
    engine = hub.app[ENGINE]
    tokens = [
        await add_user(
            engine=engine, org_gln=PPR_GLN, name=name, role=Role.CASEWORKER, actor=local_actor()
        )
        for name in ("Vikar", "Vikar", "Fast")
    ]
    temp, temp_too, staff = (hub.anonymous(t) for t in tokens)
    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    for person in (temp, temp_too, staff):
        assert (await person.request("GET", "/v1/whoami"))[0] == 200  # cached
    env = _cli_env(tmp_path, hub_db)
    done = await asyncio.to_thread(
        samspil, "user", "disable", "--org", PPR_GLN, "--name", "Vikar", env=env
    )
    assert f"{PPR_GLN}: 2 token(s) of Vikar disabled" in done.stderr
    # PostgreSQL: the NOTIFY travels to the hub's LISTEN connection; on a busy machine that
    # may take seconds, so wait up to 30 s for the settled state (no timing is asserted)
    for _ in range(3000):
        status, body, _ = await temp.request("GET", "/v1/whoami")
        if status == 401 or "sqlite" in hub_db:
            break
        await asyncio.sleep(0.01)
    assert (status, body["code"]) == (401, "unauthorized"), "the disabled token still works"
    assert (await temp_too.request("GET", "/v1/whoami"))[0] == 401  # both of the person's
    assert (await staff.request("GET", "/v1/whoami"))[0] == 200  # another person's: not
    assert (await ppr.request("GET", "/v1/whoami"))[0] == 200  # nor the system's
    _, audit, _ = await operator.request("GET", "/v1/operator/audit")
    entry = audit["entries"][0]
    assert (entry["action"], entry["target"]) == ("disable-token", PPR_GLN)
    assert entry["result"].startswith("2 user token(s) disabled: credential ")
    again = await asyncio.to_thread(
        samspil, "user", "disable", "--org", PPR_GLN, "--name", "Vikar", check=False, env=env
    )
    assert again.returncode == 1  # nothing left to disable: a script hears it
    assert "0 token(s) of Vikar disabled" in again.stderr


async def test_expired_token_is_refused(make_hub: MakeHub) -> None:
    hub = await make_hub()
    await hub.org(PPR_GLN)
    in_an_hour, tomorrow = utcnow() + timedelta(hours=1), utcnow() + timedelta(days=1)
    temp = await hub.user(PPR_GLN, Role.CASEWORKER, "Vikar", expires_at=in_an_hour)
    staff = await hub.user(PPR_GLN, Role.CASEWORKER, "Fast", expires_at=tomorrow)
    assert (await temp.request("GET", "/v1/whoami"))[0] == 200
    verifier = hub.app[VERIFIER]
    verifier.now = lambda: utcnow() + timedelta(hours=1, seconds=1)  # an hour on
    status, body, _ = await temp.request("GET", "/v1/whoami")
    assert status == 401
    assert body["code"] == "token-expired"
    assert (await staff.request("GET", "/v1/whoami"))[0] == 200


async def test_login_failures_are_limited_per_source_address(make_hub: MakeHub) -> None:
    hub = await make_hub(login_failures_per_minute=5)
    gp = await hub.org(GP_GLN, Sector.GP)
    for attempt in range(5):
        guess = hub.anonymous(f"smp_{uuid.uuid4().hex}")
        status, _, _ = await guess.request("GET", "/v1/inbox")
        assert status == 401, attempt
    async with hub.session.get(
        hub.base + "/v1/inbox", headers={"Authorization": "Bearer smp_guess"}
    ) as response:
        assert response.status == 429
        assert 1 <= int(response.headers["Retry-After"]) <= 61
        problem = await response.json(content_type=None)
        assert response.content_type == "application/problem+json"
    assert problem["code"] == "too-many-failures"
    # the address's failures are refused, but never a valid token (test_doors.py has more);
    # public paths stay open
    assert (await gp.request("GET", "/v1/inbox"))[0] == 200
    status, body, _ = await hub.anonymous("smp_another_guess").request("GET", "/v1/inbox")
    assert (status, body["code"]) == (429, "too-many-failures")
    assert (await gp.request("GET", "/healthz"))[0] == 200


async def test_every_administrative_action_is_audited(
    make_hub: MakeHub, hub_db: str, tmp_path: Path
) -> None:
    hub = await make_hub()
    env = _cli_env(tmp_path, hub_db)
    who = f"{getpass.getuser()}@"
    await asyncio.to_thread(
        samspil, "org", "add", "--gln", PPR_GLN, "--name", "PPR", "--sector", "ppr", env=env
    )
    created = await asyncio.to_thread(
        samspil,
        "user",
        "add",
        "--org",
        PPR_GLN,
        "--name",
        "Drift",
        "--role",
        "operator",
        "--expires-in",
        "12h",
        env=env,
    )
    await asyncio.to_thread(samspil, "org", "disable", "--gln", PPR_GLN, env=env)
    await asyncio.to_thread(samspil, "org", "enable", "--gln", PPR_GLN, env=env)
    operator = hub.anonymous(created.stdout.strip())
    status, audit, _ = await operator.request("GET", "/v1/operator/audit")
    assert status == 200, audit
    entries = list(reversed(audit["entries"]))
    assert [(e["action"], e["target"]) for e in entries] == [
        ("add-organisation", PPR_GLN),
        ("add-user", PPR_GLN),
        ("disable-token", PPR_GLN),
        ("enable-token", PPR_GLN),
    ]
    assert all(e["actor"].startswith(who) for e in entries)
    assert "expires" in entries[1]["result"]
    assert "smp_" not in str(audit)


def test_durations_for_expires_in() -> None:
    assert parse_duration("90d") == timedelta(days=90)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("3600") == timedelta(hours=1)
    for bad in ("", "0", "-5", "1w", "soon"):
        with pytest.raises(ConfigError):
            parse_duration(bad)
