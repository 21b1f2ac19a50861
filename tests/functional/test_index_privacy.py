"""Nothing about other organisations without consent, and an operator states a reason.

Over real HTTP on SQLite and PostgreSQL. The rules are written once: what an organisation's
access log shows in :mod:`coordinator.index.access_log`, whom any answer may name in
:func:`coordinator.index.consent.organisations_open_to`, the consent list in
:func:`coordinator.index.consent.listing`. An organisation with its own case and no consent
learns from the access log, the consent list and the overview nothing about who else is
involved; under a consent covering the pair, the other is named. An operator reads a child's
access log only with a stated reason, which is kept, shown in the full log and audited.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from coordinator.index.tables import ACCESS_LOG, CONSENT
from coordinator.state import ENGINE
from coordinator.tables import Role, Sector
from tests.functional.conftest import BUP_GLN, FAMILY_GLN, GP_GLN, PPR_GLN, Client, Hub, gln
from tests.functional.conftest import PARTNER_NAMES as NAMES
from tests.functional.index_samples import (
    PERSON,
    appointment,
    call,
    case,
    consent,
    cpr_aged,
    logged_views,
    ok,
    overview,
    verified,
)

OPERATOR_GLN = gln(9001)
REQUEST = "Aktindsigt 2026-0113 (forælder)"  # a family's request, as an operator states it


async def _region(hub: Hub) -> tuple[Client, Client, Client, Client, Client]:
    """PPR, the family department, child psychiatry, a GP, and an operator of the hub."""
    ppr, family, bup, gp = await hub.partners()
    await hub.org(OPERATOR_GLN, Sector.PPR, "Samspil drift")
    operator = await hub.user(OPERATOR_GLN, Role.OPERATOR)  # named "Test"
    return ppr, family, bup, gp, operator


KINDS = {
    PPR_GLN: "ppr-assessment",
    FAMILY_GLN: "family-support",
    BUP_GLN: "psychiatric-assessment",
    GP_GLN: "gp-follow-up",
}


async def _involve(child: str, *clients: Client) -> None:
    for client in clients:
        await ok(client, "PUT", f"/v1/cases/C-{child}", case(child, kind=KINDS[client.gln]))


async def _raw(client: Client, path: str, **headers: str) -> tuple[Any, bytes]:
    """A GET as a person of ``client``: the parsed answer and its bytes."""
    status, parsed, raw = await client.request(
        "GET", path, headers={"X-On-Behalf-Of": PERSON, **headers}
    )
    assert status == 200, parsed
    return parsed, raw


def _assert_names_none_of(raw: bytes, glns: list[str], *texts: str) -> None:
    for other in glns:
        assert other.encode() not in raw, other
        assert NAMES[other].encode() not in raw, NAMES[other]
    for text in texts:
        assert text.encode() not in raw, text


def _log(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            e["kind"],
            e["operator"],
            e["organisation"],
            [d["organisation"] for d in e["disclosed"]],
            e["reason"],
        )
        for e in entries
    ]


async def test_without_consent_the_access_log_and_consent_list_reveal_no_one_else(
    hub: Hub,
) -> None:
    ppr, family, bup, gp, operator = await _region(hub)
    child = cpr_aged(10)
    await _involve(child, ppr, family, bup, gp)
    consents = f"/v1/children/{child}/consents"
    await ok(ppr, "POST", consents, consent(["ppr", "psychiatry"], given_by_name="Mette Nielsen"))
    await ok(gp, "POST", consents, consent(["gp", "psychiatry"], given_by_name="Birgit Holm"))
    # everyone else looks at everything they may: overviews, consent lists, the access log
    for client in (ppr, bup, gp):
        await overview(client, child)
        await ok(client, "GET", consents)
        await ok(client, "GET", f"/v1/children/{child}/access-log")
    await ok(operator, "GET", f"/v1/children/{child}/access-log", reason=REQUEST)

    # the family department has an active case and no consent: the operator looked, and
    # that is all it learns (no organisation, no count, not the operator's reason)
    log, raw_log = await _raw(family, f"/v1/children/{child}/access-log")
    assert _log(log["entries"]) == [("access-log", True, OPERATOR_GLN, [], None)]
    listed, raw_list = await _raw(family, consents)
    assert listed == {"consents": []}
    for raw in (raw_log, raw_list):
        _assert_names_none_of(
            raw, [PPR_GLN, BUP_GLN, GP_GLN], "Mette Nielsen", "Birgit Holm", "Aktindsigt"
        )
    # reads that showed it nobody else disclosed nothing, so nothing was logged
    assert await logged_views(hub.app, FAMILY_GLN, child) == 0
    for owner in (ppr, bup, gp):
        notes = (await ok(owner, "GET", "/v1/access-notifications"))["notifications"]
        views = [n for n in notes if "viewer" in n]  # besides: the partners that joined
        assert FAMILY_GLN not in {n["viewer"]["organisation"] for n in views}


async def test_after_a_revocation_the_log_names_no_one_the_consent_opened(hub: Hub) -> None:
    ppr, family, bup, _, _ = await _region(hub)
    child = cpr_aged(9)
    await _involve(child, ppr, family, bup)
    # verified: an attested consent from the family department would not open psychiatry's
    # data under the hub's default policy (tests/functional/test_consent_policy.py)
    recorded = await verified(hub, family, child, consent(["family", "psychiatry"]))
    assert (await overview(family, child))["disclosed"] == [BUP_GLN]
    await ok(family, "DELETE", f"/v1/children/{child}/consents/{recorded}")

    # its own view is still there, but no longer says whose entries it showed
    log, raw = await _raw(family, f"/v1/children/{child}/access-log")
    assert _log(log["entries"]) == [("overview", False, FAMILY_GLN, [], None)]
    _assert_names_none_of(raw, [PPR_GLN, BUP_GLN])
    # the overview; the log read showed no one
    assert await logged_views(hub.app, FAMILY_GLN, child) == 1
    # its own record stays its own, in full
    [own] = (await ok(family, "GET", f"/v1/children/{child}/consents"))["consents"]
    assert (own["id"], own["given_by_name"], own["recorded_by_you"], own["active"]) == (
        recorded,
        "Mette Nielsen",
        True,
        False,
    )
    # the owner whose data was read is told who read it - in its notifications and, the same
    # fact, in the access log; nobody else is named there (PPR's data was not shown)
    notes = (await ok(bup, "GET", "/v1/access-notifications"))["notifications"]
    views = [n for n in notes if "viewer" in n]  # besides: the partners that joined
    assert [(n["kind"], n["viewer"]["organisation"]) for n in views] == [("overview", FAMILY_GLN)]
    log, raw = await _raw(bup, f"/v1/children/{child}/access-log")
    assert _log(log["entries"]) == [("overview", False, FAMILY_GLN, [BUP_GLN], None)]
    _assert_names_none_of(raw, [PPR_GLN])
    # PPR was neither a viewer nor a disclosed owner: it sees nothing at all
    assert (await ok(ppr, "GET", f"/v1/children/{child}/access-log"))["entries"] == []


async def test_with_a_consent_covering_the_pair_the_other_is_named(hub: Hub) -> None:
    ppr, _, bup, gp, _ = await _region(hub)
    child = cpr_aged(10)
    await _involve(child, ppr, bup, gp)
    consents = f"/v1/children/{child}/consents"
    # PPR's consent opens psychiatry's data verified; the GP's, attested, opens the GP's own
    ppr_bup = await verified(
        hub, ppr, child, consent(["ppr", "psychiatry"], given_by_name="Mette Nielsen")
    )
    gp_bup = await ok(
        gp, "POST", consents, consent(["gp", "psychiatry"], given_by_name="Birgit Holm")
    )
    assert (await overview(bup, child))["disclosed"] == sorted([GP_GLN, PPR_GLN])
    assert (await overview(ppr, child))["disclosed"] == [BUP_GLN]

    # PPR: its own view names BUP (the consent covers PPR and psychiatry); BUP's view of
    # PPR's data names BUP and PPR, never the GP, whose data no consent opens to PPR
    log, raw = await _raw(ppr, f"/v1/children/{child}/access-log")
    assert _log(log["entries"]) == [
        ("overview", False, PPR_GLN, [BUP_GLN], None),
        ("overview", False, BUP_GLN, [PPR_GLN], None),
    ]
    assert [e["organisation_name"] for e in log["entries"]] == [NAMES[PPR_GLN], NAMES[BUP_GLN]]
    _assert_names_none_of(raw, [GP_GLN, FAMILY_GLN])
    # the psychiatry is covered with both: it sees every view, every owner named
    log = (await ok(bup, "GET", f"/v1/children/{child}/access-log"))["entries"]
    assert _log(log) == [
        ("access-log", False, PPR_GLN, [BUP_GLN], None),  # PPR's read named BUP: logged
        ("overview", False, PPR_GLN, [BUP_GLN], None),
        ("overview", False, BUP_GLN, sorted([GP_GLN, PPR_GLN]), None),
    ]
    # the GP sees BUP's views of its data, without PPR
    log, raw = await _raw(gp, f"/v1/children/{child}/access-log")
    assert _log(log["entries"]) == [
        ("access-log", False, BUP_GLN, [GP_GLN], None),
        ("overview", False, BUP_GLN, [GP_GLN], None),
    ]
    _assert_names_none_of(raw, [PPR_GLN, FAMILY_GLN], "Mette Nielsen")

    # the consent lists: each its own, the psychiatry both (each names psychiatry)
    mine, raw = await _raw(ppr, consents)
    assert [(c["id"], c["given_by_name"]) for c in mine["consents"]] == [(ppr_bup, "Mette Nielsen")]
    _assert_names_none_of(raw, [GP_GLN], "Birgit Holm")
    both = (await ok(bup, "GET", consents))["consents"]
    assert {(c["id"], c["given_by_name"], c["recorded_by_you"]) for c in both} == {
        (ppr_bup, "Mette Nielsen", False),
        (gp_bup["id"], "Birgit Holm", False),
    }
    # BUP's read of the list showed PPR's and the GP's consents: logged, each owner told;
    # PPR's read showed only its own and was not logged
    log = (await ok(ppr, "GET", f"/v1/children/{child}/access-log"))["entries"]
    assert _log(log)[0] == ("consents", False, BUP_GLN, [PPR_GLN], None)
    assert "consents" not in {e["kind"] for e in log if e["organisation"] == PPR_GLN}


async def test_the_consent_list_shows_what_names_the_caller_and_names_only_what_covers_it(
    hub: Hub,
) -> None:
    ppr, family, bup, _, _ = await _region(hub)
    child = cpr_aged(11)
    await _involve(child, ppr, family, bup)
    path = f"/v1/children/{child}/consents"

    async def record(client: Client, sectors: list[str], name: str, **extra: Any) -> str:
        recorded = await ok(client, "POST", path, consent(sectors, given_by_name=name, **extra))
        consent_id: str = recorded["id"]
        return consent_id

    named_ppr = await record(bup, ["psychiatry"], "Anna Navngivet")
    async with hub.app[ENGINE].begin() as conn:  # the consent names PPR itself, not its sector
        await conn.execute(
            update(CONSENT)
            .where(CONSENT.c.id == uuid.UUID(named_ppr))
            .values(organisations=",".join(sorted([PPR_GLN, gln(2002)])))
        )
    past = await record(
        bup,
        ["ppr", "psychiatry"],
        "Bo Udløbet",
        valid_from="2020-01-01T00:00:00Z",
        valid_until="2021-01-01T00:00:00Z",
    )
    elsewhere = await record(bup, ["family", "psychiatry"], "Carl Andetsteds")
    covering = await record(bup, ["ppr", "psychiatry"], "Dorthe Dækker")
    revoked = await record(bup, ["ppr", "psychiatry"], "Erik Tilbagekaldt")
    await ok(bup, "DELETE", f"{path}/{revoked}")
    own = await record(ppr, ["family"], "Frida Egen")

    listed, raw = await _raw(ppr, path)
    shown = {c["id"]: (c["given_by_name"], c["active"]) for c in listed["consents"]}
    assert shown == {
        named_ppr: ("Anna Navngivet", True),  # names PPR's GLN, in force
        past: (None, False),  # names PPR's sector, not in force: who gave it is withheld
        covering: ("Dorthe Dækker", True),
        revoked: (None, False),
        own: ("Frida Egen", True),  # PPR's own record, though it does not name PPR
    }
    assert [c["id"] for c in listed["consents"]] == [own, revoked, covering, past, named_ppr]
    for withheld in ("Carl Andetsteds", "Bo Udløbet", "Erik Tilbagekaldt"):
        assert withheld.encode() not in raw
    assert elsewhere not in shown
    # the family department: the one naming its sector, and PPR's naming it
    families = (await ok(family, "GET", path))["consents"]
    assert {c["id"]: c["given_by_name"] for c in families} == {
        elsewhere: "Carl Andetsteds",
        own: "Frida Egen",
    }


async def test_the_overview_says_nothing_about_whether_others_exist(hub: Hub) -> None:
    ppr, _, bup, _, _ = await _region(hub)
    involved, lonely = cpr_aged(9), cpr_aged(9)
    for n, child in enumerate((involved, lonely)):
        await ok(ppr, "PUT", f"/v1/cases/P-{n}", case(child))
        await ok(ppr, "PUT", f"/v1/appointments/PA-{n}", appointment(
            child, starts_at="2030-01-07T09:00:00+00:00", ends_at="2030-01-07T10:00:00+00:00"
        ))  # fmt: skip
    # child psychiatry is busy with one of them: a case, an appointment 2 hours after PPR's
    # (a hint, were it shown), itself as the coordinator, a consent with another sector
    await ok(bup, "PUT", "/v1/cases/B-1", case(involved, kind="psychiatric-assessment"))
    await ok(bup, "PUT", "/v1/appointments/BA-1", appointment(
        involved, starts_at="2030-01-07T11:00:00+00:00", ends_at="2030-01-07T12:00:00+00:00"
    ))  # fmt: skip
    await ok(bup, "PUT", f"/v1/children/{involved}/coordinator", {
        "organisation": BUP_GLN, "contact": {"name": "Dr. Lund", "role": "overlæge"}
    })  # fmt: skip
    await ok(bup, "POST", f"/v1/children/{involved}/consents", consent(["family", "psychiatry"]))
    await overview(bup, involved)

    for part in ("overview", "consents", "access-log"):
        _, seen = await _raw(ppr, f"/v1/children/{involved}/{part}")
        _, alone = await _raw(ppr, f"/v1/children/{lonely}/{part}")
        # the same bytes, once each child's own references are put aside
        assert seen.replace(b'"P-0"', b'"P"').replace(b'"PA-0"', b'"PA"') == alone.replace(
            b'"P-1"', b'"P"'
        ).replace(b'"PA-1"', b'"PA"'), part
    assert await logged_views(hub.app, PPR_GLN, involved) == 0


async def test_an_operator_reads_a_childs_access_log_only_with_a_stated_reason(
    hub: Hub,
) -> None:
    ppr, _, bup, _, operator = await _region(hub)
    child = cpr_aged(12)
    await _involve(child, ppr, bup)
    await verified(hub, ppr, child, consent(["ppr", "psychiatry"]))
    await overview(ppr, child)
    log = f"/v1/children/{child}/access-log"

    # no reason, an empty one, one too long, one that is not plain text: refused, not logged
    status, problem = await call(operator, "GET", log)
    assert (status, problem["code"]) == (400, "access-reason-missing")
    assert "X-Access-Reason" in problem["detail"]
    for bad in ("   ", "x" * 501, "Aktindsigt\u202e2026"):
        status, problem = await call(operator, "GET", log, reason=bad)
        assert (status, problem["code"]) == (400, "invalid-access-reason"), bad
    assert await logged_views(hub.app, OPERATOR_GLN, child) == 0

    # with a reason: the read is logged with it, shown in the full log, and audited
    first = (await ok(operator, "GET", log, reason=REQUEST))["entries"]
    assert _log(first) == [("overview", False, PPR_GLN, [BUP_GLN], None)]
    longest = "x" * 500
    again = (await ok(operator, "GET", log, reason=longest))["entries"]
    assert _log(again)[0] == (
        "access-log", True, OPERATOR_GLN, sorted([BUP_GLN, PPR_GLN]), REQUEST
    )  # fmt: skip
    async with hub.app[ENGINE].connect() as conn:
        rows = (
            await conn.execute(
                select(ACCESS_LOG.c.id, ACCESS_LOG.c.reason)
                .where(ACCESS_LOG.c.cpr == child, ACCESS_LOG.c.viewer_org == OPERATOR_GLN)
                .order_by(ACCESS_LOG.c.at)
            )
        ).all()
    assert [r.reason for r in rows] == [REQUEST, longest]
    status, audit, raw = await operator.request("GET", "/v1/operator/audit")
    assert status == 200
    reads = [e for e in audit["entries"] if e["action"] == "read-access-log"]
    assert [(e["target"], e["actor"], e["actor_organisation"]) for e in reads] == [
        (str(rows[1].id), "Test", OPERATOR_GLN),
        (str(rows[0].id), "Test", OPERATOR_GLN),
    ]
    assert child.encode() not in raw  # the audit names the logged view, never the child

    # the family's organisations see that an operator looked, not why
    for client in (ppr, bup):
        entries = (await ok(client, "GET", log))["entries"]
        assert [e["reason"] for e in entries if e["operator"]] == [None, None]
        assert all(e["reason"] is None for e in entries)
    # an organisation's reason is no reason: its views keep none
    await ok(ppr, "GET", log, reason="Nysgerrig")
    async with hub.app[ENGINE].connect() as conn:
        kept = await conn.scalars(
            select(ACCESS_LOG.c.reason).where(
                ACCESS_LOG.c.cpr == child, ACCESS_LOG.c.viewer_org != OPERATOR_GLN
            )
        )
        assert set(kept) == {None}
