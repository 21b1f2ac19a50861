"""``GET /v1/children``, the caller organisation's own children, over real HTTP on SQLite and
PostgreSQL: only its own active cases, grouped by child and newest activity first; the
partner count only what the hub has told it (never a live look at another organisation's
cases); its unread letters about each child; paginated; nothing logged, nothing of another
organisation's child."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from coordinator.index.tables import ACCESS_LOG, DISCLOSURE
from coordinator.state import ENGINE
from coordinator.tables import Role, Sector
from tests.functional.conftest import BUP_GLN, FAMILY_GLN, GP_GLN, PPR_GLN, Client, Hub
from tests.functional.index_samples import call, case, cpr_aged, ok
from tests.functional.samples import xdis91

SAMPLE_CPR = b"2512489996"  # the sample letter's patient


async def _mine(client: Client, query: str = "") -> dict[str, Any]:
    answer: dict[str, Any] = await ok(client, "GET", "/v1/children" + query, person=None)
    return answer


def _by_child(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["child_cpr"]: c for c in answer["children"]}


async def _logged(hub: Hub) -> tuple[int, int]:
    async with hub.app[ENGINE].connect() as conn:
        views = await conn.scalar(select(func.count()).select_from(ACCESS_LOG))
        disclosed = await conn.scalar(select(func.count()).select_from(DISCLOSURE))
    return int(views or 0), int(disclosed or 0)


async def _letter_about(sender: Client, receiver: str, cpr: str) -> str:
    body = xdis91(sender=sender.gln, receiver=receiver).replace(SAMPLE_CPR, cpr.encode())
    status, parsed = await sender.send(body)
    assert status == 202, parsed
    return str(parsed["id"])


async def test_only_own_active_cases_grouped_by_child_newest_first(hub: Hub) -> None:
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    bup = await hub.org(BUP_GLN, Sector.PSYCHIATRY, "BUP Aalborg")
    first, second, closed, theirs = (cpr_aged(n) for n in (7, 9, 11, 13))
    await ok(ppr, "PUT", "/v1/cases/P-1", case(first, title="Skolevægring"))
    await ok(ppr, "PUT", "/v1/cases/P-2", case(second))
    await ok(ppr, "PUT", "/v1/cases/P-3", case(first, kind="ppr-counselling"))
    await ok(ppr, "PUT", "/v1/cases/P-4", case(closed, status="closed"))
    await ok(bup, "PUT", "/v1/cases/B-1", case(theirs, kind="psychiatric-assessment"))

    answer = await _mine(ppr)
    assert (answer["total"], answer["offset"]) == (2, 0)
    # the newest activity first: P-3 (child ``first``) was written last
    assert [c["child_cpr"] for c in answer["children"]] == [first, second]
    mine = _by_child(answer)[first]
    assert [(c["ref"], c["kind"]) for c in mine["cases"]] == [
        ("P-1", "ppr-assessment"),
        ("P-3", "ppr-counselling"),
    ]
    assert mine["cases"][0]["title"] == "Skolevægring"  # its own title: its own data
    assert mine["cases"][0]["contact"]["name"] == "Kim Jensen"
    assert (mine["partners_told"], mine["unread_letters"]) == (0, 0)

    # an update moves a child to the top
    await ok(ppr, "PUT", "/v1/cases/P-2", case(second, title="Ny plan"))
    assert [c["child_cpr"] for c in (await _mine(ppr))["children"]] == [second, first]
    # closing the last case takes the child off the list
    await ok(ppr, "PUT", "/v1/cases/P-2", case(second, status="closed"))
    assert [c["child_cpr"] for c in (await _mine(ppr))["children"]] == [first]

    # the other organisation sees its own child only, and nothing of the PPR's
    theirs_answer = await _mine(bup)
    assert [c["child_cpr"] for c in theirs_answer["children"]] == [theirs]
    assert PPR_GLN not in str(theirs_answer)
    assert (await _logged(hub)) == (0, 0)  # nothing disclosed, nothing logged


async def test_partners_counted_only_as_the_hub_told_the_caller(hub: Hub) -> None:
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    bup = await hub.org(BUP_GLN, Sector.PSYCHIATRY, "BUP Aalborg")
    family = await hub.org(FAMILY_GLN, Sector.FAMILY, "Familieafdelingen")
    gp = await hub.org(GP_GLN, Sector.GP, "Lægehuset")
    shared, quiet, alone = cpr_aged(8), cpr_aged(10), cpr_aged(12)

    await ok(ppr, "PUT", "/v1/cases/P-1", case(shared))
    joined = await ok(bup, "PUT", "/v1/cases/B-1", case(shared, kind="psychiatric-assessment"))
    assert [p["organisation"] for p in joined["told"]] == [PPR_GLN]
    await ok(gp, "PUT", "/v1/cases/G-1", case(shared, kind="gp-follow-up"))
    # the family's case for ``quiet`` closed before the PPR joined: nobody was told
    await ok(family, "PUT", "/v1/cases/F-1", case(quiet, kind="family-support"))
    await ok(family, "PUT", "/v1/cases/F-1", case(quiet, kind="family-support", status="closed"))
    await ok(ppr, "PUT", "/v1/cases/P-2", case(quiet))
    await ok(ppr, "PUT", "/v1/cases/P-3", case(alone))

    mine = _by_child(await _mine(ppr))
    # told of BUP and the GP (notices to the PPR)
    assert mine[shared]["partners_told"] == 2
    # the family has a case for ``quiet``, but the PPR was never told: no marker
    assert mine[quiet]["partners_told"] == 0
    assert mine[alone]["partners_told"] == 0
    # the BUP learnt of the PPR in its answer, and of the GP by a notice
    assert _by_child(await _mine(bup))[shared]["partners_told"] == 2
    assert _by_child(await _mine(gp))[shared]["partners_told"] == 2

    # what was told stays told: a partner closing its case is not a fresh look at it
    await ok(
        bup, "PUT", "/v1/cases/B-1", case(shared, kind="psychiatric-assessment", status="closed")
    )
    assert _by_child(await _mine(ppr))[shared]["partners_told"] == 2
    # no answer names another organisation, and nothing was logged
    answer = await _mine(ppr)
    for other in (BUP_GLN, GP_GLN, FAMILY_GLN, "BUP Aalborg", "Lægehuset", "Familie"):
        assert other not in str(answer)
    assert (await _logged(hub)) == (0, 0)


async def test_unread_letters_about_each_child_and_their_activity(hub: Hub) -> None:
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    gp = await hub.org(GP_GLN, Sector.GP, "Lægehuset")
    bup = await hub.org(BUP_GLN, Sector.PSYCHIATRY, "BUP Aalborg")
    older, newer, not_mine = cpr_aged(6), cpr_aged(9), cpr_aged(14)
    await ok(ppr, "PUT", "/v1/cases/P-1", case(older))
    await ok(ppr, "PUT", "/v1/cases/P-2", case(newer))
    assert [c["child_cpr"] for c in (await _mine(ppr))["children"]] == [newer, older]

    first = await _letter_about(gp, PPR_GLN, older)
    await _letter_about(gp, PPR_GLN, older)
    await _letter_about(gp, PPR_GLN, not_mine)  # a child the PPR has no case for
    await _letter_about(gp, BUP_GLN, newer)  # another organisation's letter

    answer = await _mine(ppr)
    # a letter's arrival is activity: ``older`` comes first now
    assert [c["child_cpr"] for c in answer["children"]] == [older, newer]
    mine = _by_child(answer)
    assert (mine[older]["unread_letters"], mine[newer]["unread_letters"]) == (2, 0)
    assert answer["total"] == 2  # the letter about a child without a case adds no child

    await ppr.fetch(first)  # read: no longer unread
    assert _by_child(await _mine(ppr))[older]["unread_letters"] == 1
    assert _by_child(await _mine(bup)) == {}  # BUP has no case: its letter lists nothing


async def test_pages_and_their_limits(hub: Hub) -> None:
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    children = [cpr_aged(5 + n) for n in range(5)]
    for n, child in enumerate(children):
        await ok(ppr, "PUT", f"/v1/cases/P-{n}", case(child))
    newest_first = list(reversed(children))
    whole = await _mine(ppr)
    assert [c["child_cpr"] for c in whole["children"]] == newest_first
    seen: list[str] = []
    for offset in range(0, 6, 2):
        page = await _mine(ppr, f"?limit=2&offset={offset}")
        assert (page["total"], page["offset"]) == (5, offset)
        seen += [c["child_cpr"] for c in page["children"]]
    assert seen == newest_first
    assert (await _mine(ppr, "?offset=5"))["children"] == []
    for bad in ("?limit=0", "?limit=201", "?offset=-1", "?limit=x", "?offset=1000001"):
        status, problem = await call(ppr, "GET", "/v1/children" + bad, person=None)
        assert status == 400, (bad, problem)


async def test_who_may_ask(hub: Hub) -> None:
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    child = cpr_aged(10)
    await ok(ppr, "PUT", "/v1/cases/P-1", case(child))
    caseworker = await hub.user(PPR_GLN, Role.CASEWORKER)
    assert [c["child_cpr"] for c in (await _mine(caseworker))["children"]] == [child]
    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    status, problem = await call(operator, "GET", "/v1/children", person=None)
    assert (status, problem["code"]) == (403, "forbidden")
    status, _ = await call(hub.anonymous(), "GET", "/v1/children", person=None)
    assert status == 401
