"""Two hub processes on one PostgreSQL database, two organisations joining the same children
at the same moment, one through each: every match is made — for each child one of the two is
told of the other — never lost between two transactions that each saw no partner yet.

The children are known to the index already (a closed case elsewhere): a new child's row is
itself written once, and the second writer waits for the first; a known child's row is
locked by the write that joins it."""

from __future__ import annotations

import asyncio

from coordinator.tables import Sector
from tests.functional.conftest import (
    BUP_GLN,
    FAMILY_GLN,
    POSTGRES_ONLY,
    PPR_GLN,
    Client,
    MakeHub,
)
from tests.functional.index_samples import case, cpr_aged, ok

CHILDREN = 30


pytestmark = POSTGRES_ONLY  # several hub processes share a PostgreSQL database


async def test_two_organisations_joining_at_once_through_two_processes_match(
    make_hub: MakeHub,
) -> None:
    first, second = await make_hub(), await make_hub()
    ppr = await first.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    registered = await first.org(BUP_GLN, Sector.PSYCHIATRY, "BUP Aalborg")
    bup = Client(second.session, second.base, registered.token, BUP_GLN)  # the other process
    family = await first.org(FAMILY_GLN, Sector.FAMILY, "Familieafdelingen")
    children = [cpr_aged(4 + n % 12, days=40 + n) for n in range(CHILDREN)]
    for child in children:
        await ok(family, "PUT", f"/v1/cases/F-{child}", case(child, status="closed"))

    async def join(client: Client, child: str, kind: str) -> list[str]:
        answer = await ok(client, "PUT", f"/v1/cases/C-{child}", case(child, kind=kind))
        return [partner["organisation"] for partner in answer["told"]]

    answers = await asyncio.gather(
        *(
            asyncio.gather(
                join(ppr, child, "ppr-assessment"), join(bup, child, "psychiatric-assessment")
            )
            for child in children
        )
    )
    # for each child exactly one of the two came second and was answered with the other
    for n, (ppr_told, bup_told) in enumerate(answers):
        assert sorted([*ppr_told, *bup_told]) in ([PPR_GLN], [BUP_GLN]), f"child {n}"
    notes = (await ok(ppr, "GET", "/v1/access-notifications?limit=1000"))["notifications"]
    told_ppr = {n["child_cpr"] for n in notes if n["kind"] == "new-partner"}
    bup_notes = (await ok(bup, "GET", "/v1/access-notifications?limit=1000"))["notifications"]
    told_bup = {n["child_cpr"] for n in bup_notes if n["kind"] == "new-partner"}
    assert told_ppr | told_bup == set(children)
    assert told_ppr & told_bup == set()
