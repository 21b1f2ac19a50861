"""``/v1/whoami`` and ``/v1/organisations``: who the caller is, and the directory of
organisations a letter can be addressed to (GLN, name, sector, SOR code and letter format —
nothing about their mail).

Any valid token may read both: the terminal UIs show the caller's organisation and person,
and a caseworker picks a letter's receiver from the directory.
"""

from __future__ import annotations

from aiohttp import web

from coordinator.mailbox.store import list_organisations
from coordinator.responses import json_response
from coordinator.security.auth import principal_of
from coordinator.state import ENGINE
from wire.directory import CallerOrganisation, Directory, DirectoryEntry, LettersConsumedBy, WhoAmI

routes = web.RouteTableDef()


@routes.get("/v1/whoami")
async def whoami(request: web.Request) -> web.Response:
    principal = principal_of(request)
    organisations = await list_organisations(engine=request.app[ENGINE])
    own = next((o for o in organisations if o.gln == principal.org_gln), None)
    return json_response(
        WhoAmI(
            name=principal.name,
            role=principal.role,
            organisation=CallerOrganisation(
                gln=principal.org_gln,
                name=own.name if own else principal.org_gln,
                sector=own.sector if own else None,
                letters_consumed_by=own.letters_consumed_by if own else LettersConsumedBy.SYSTEM,
            ),
        )
    )


@routes.get("/v1/organisations")
async def directory(request: web.Request) -> web.Response:
    principal_of(request)
    organisations = await list_organisations(engine=request.app[ENGINE])
    return json_response(
        Directory(
            organisations=[
                DirectoryEntry.model_validate(o, from_attributes=True) for o in organisations
            ]
        )
    )
