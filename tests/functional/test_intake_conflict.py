"""A message the duplicate lookup missed is still stored once: the insert skips it on the
unique (sender, envelope, letter) constraint and the sender gets the stored message's id.

On PostgreSQL another hub process can store the same message between the lookup and the
insert; on SQLite the committer's write lock rules that out, but the lean insert there
(``executemany``, no ``RETURNING``) must still tell what it stored. The lookup is made to
miss here to take that path."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from coordinator.mailbox import intake
from coordinator.mailbox.intake import Accepted, Incoming, accept_many
from coordinator.sqltypes import utcnow
from coordinator.state import COMMITTER, REGISTRY
from coordinator.tables import Role
from messages.medcom.routing import read_letter
from tests.functional.conftest import GP_GLN, PPR_GLN, Hub
from tests.functional.samples import xdis91


class _Missing:
    """A lookup that finds nothing (the other process's message is not seen)."""

    def rows(self, _conn: Any, _keys: Any) -> list[Any]:
        return []


async def test_a_message_stored_meanwhile_is_answered_as_a_duplicate(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    gp = await hub.org(GP_GLN)
    await hub.org(PPR_GLN)
    body = xdis91(sender=GP_GLN, receiver=PPR_GLN, envelope_id="ENV-1", letter_id="LET-1")
    status, first = await gp.send(body)
    assert status == 202, first
    other = xdis91(sender=GP_GLN, receiver=PPR_GLN, envelope_id="ENV-2", letter_id="LET-2")

    monkeypatch.setattr(intake, "_KNOWN", _Missing())  # on either engine
    items = []
    for data in (body, other):
        routing, letter = read_letter(data, registry=hub.app[REGISTRY])
        items.append(Incoming(routing, data, utcnow(), letter))
    committer = hub.app[COMMITTER]
    answers = await asyncio.gather(*(committer.bulk(accept_many, item) for item in items))
    again, fresh = answers
    assert isinstance(again, Accepted)
    assert isinstance(fresh, Accepted)
    assert again.duplicate
    assert str(again.id) == first["id"]
    assert not fresh.duplicate
    assert str(fresh.id) != first["id"]

    ppr = await hub.user(PPR_GLN, Role.CASEWORKER)
    assert sorted(m["letter_id"] for m in await ppr.inbox()) == ["LET-1", "LET-2"]
