"""``GET /v1/partner-events``: what changed at the other organisations involved with the
caller's own children — a partner's case opened or closed, an appointment booked, moved or
cancelled, a coordinator named — as a feed with a cursor.

For a sector system that listens (the municipal adapter hands the events to its case
system): ``since`` is the last page's ``cursor`` (0 at first); an event's ``id`` never
changes, so a page fetched again after a crash is recognised event by event. Store the
cursor only once the events are safely handed over: nothing is lost, and a duplicate is
known by its id.

The rule is the overview's (:mod:`coordinator.index.events`): only children the caller has
an active case for, only another organisation's changes since the caller's case, only where
consent opens that organisation's entries now, never more than the overview shows. Each page
is logged before it is answered, one access-log entry per child it shows, naming the person
(``X-On-Behalf-Of``, or a user token's name) or else the system
(:func:`coordinator.index.disclosure.disclose_partner_events`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from coordinator.index.disclosure import disclose_partner_events
from coordinator.index.events import FoundEvent
from coordinator.index.routes import _index_user
from coordinator.params import whole_number
from coordinator.responses import json_response
from coordinator.state import COMMITTER, CONSENT_POLICY, ENGINE, SETTINGS
from wire.events import PartnerEvent, PartnerEvents, PartnerEventType

routes = web.RouteTableDef()

PAGE = 100
MAX_PAGE = 500
MAX_CURSOR = 10**15


@routes.get("/v1/partner-events")
async def partner_events(request: web.Request) -> web.Response:
    viewer = _index_user(request)
    since = whole_number(request, "since", default=0, low=0, high=MAX_CURSOR)
    limit = whole_number(request, "limit", default=PAGE, low=1, high=MAX_PAGE)
    app = request.app
    page = await disclose_partner_events(
        engine=app[ENGINE],
        committer=app[COMMITTER],
        viewer=viewer,
        since=since,
        limit=limit,
        recent=app[SETTINGS].index_recent,
        policy=app[CONSENT_POLICY],
    )
    return json_response(
        PartnerEvents(
            events=[_event(e) for e in page.events], cursor=str(page.cursor), more=page.more
        ),
        exclude_unset=True,  # an event carries its case, appointment or coordinator only
    )


def _event(found: FoundEvent) -> PartnerEvent:
    body: dict[str, Any] = {
        "id": str(found.seq),
        "type": found.kind,
        "at": found.at,
        "child_cpr": found.cpr,
        "organisation": found.owner_org,
        "organisation_name": found.owner_name,
        "sector": found.owner_sector,
        "entry": None if found.entry_id is None else found.entry_id.hex,
    }
    shown = found.shown
    if found.kind is PartnerEventType.COORDINATOR_NAMED:
        body["coordinator"] = shown["contact"]
    elif found.kind.value.startswith("case-"):
        body["case"] = shown
    else:
        body["appointment"] = shown
    return PartnerEvent.model_validate(body)
