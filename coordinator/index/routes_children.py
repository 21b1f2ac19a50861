"""``GET /v1/children``: the caller organisation's own children — its active cases grouped
by child, the most recent activity first, each with how many partners the hub has told it
of and its unread letters about the child.

A caseworker's "my children" list: where a first-time user finds a CPR number without
reading case-system files. It shows the organisation its own data and what the hub already
told it (the rule, and why it needs no access-log entry, is in
:mod:`coordinator.index.children`), through
:func:`coordinator.index.disclosure.disclose_my_children`. Paginated with ``limit`` (1-200,
default 50) and ``offset`` (0-1,000,000): a position, never a CPR number, goes in the URL.
"""

from __future__ import annotations

from aiohttp import web

from coordinator.index.disclosure import disclose_my_children
from coordinator.index.routes import _index_user
from coordinator.params import whole_number
from coordinator.responses import json_response
from coordinator.state import ENGINE
from wire.children import MyChild, MyChildren, OwnCase
from wire.entries import CaseKind, Contact

routes = web.RouteTableDef()

PAGE = 50
MAX_PAGE = 200
MAX_OFFSET = 1_000_000


@routes.get("/v1/children")
async def my_children(request: web.Request) -> web.Response:
    viewer = _index_user(request)
    limit = whole_number(request, "limit", default=PAGE, low=1, high=MAX_PAGE)
    offset = whole_number(request, "offset", default=0, low=0, high=MAX_OFFSET)
    page = await disclose_my_children(
        engine=request.app[ENGINE], org_gln=viewer.org_gln, limit=limit, offset=offset
    )
    return json_response(
        MyChildren(
            children=[
                MyChild(
                    child_cpr=child.cpr,
                    activity_at=child.activity_at,
                    cases=[
                        OwnCase(
                            ref=c.ref,
                            kind=CaseKind(c.kind),
                            opened_on=c.opened_on,
                            title=c.title,
                            contact=Contact(
                                name=c.contact_name,
                                role=c.contact_role,
                                phone=c.contact_phone,
                                email=c.contact_email,
                            ),
                        )
                        for c in child.cases
                    ],
                    partners_told=child.partners_told,
                    unread_letters=child.unread_letters,
                )
                for child in page.children
            ],
            total=page.total,
            offset=offset,
        )
    )
