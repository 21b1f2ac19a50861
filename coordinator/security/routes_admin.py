"""``/v1/admin/...``: administering the hub over HTTP (admin role only), audited.

``POST /v1/admin/organisations`` registers an organisation and issues its system token —
what ``samspil org add`` does at the hub's machine, for an administrator elsewhere (or
``samspil simulate --hub URL`` setting up the simulated region on a running hub). The token
is in the 201 answer and nowhere else: it is stored only as its SHA-256, is never logged,
and the answer carries ``Cache-Control: no-store``. A GLN already registered is 409
``organisation-exists`` (its token is not shown again; rotate it with ``samspil org
token``). The registration and its :mod:`coordinator.operations.audit_tables` row (who: the admin's
credential, name and organisation) are one committer write
(:func:`coordinator.security.credentials.registration`, the registration ``samspil org add`` runs),
so
neither exists without the other.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from aiohttp import web

from coordinator.errors import BadRequest, InvalidOrganisation, UnsupportedMediaType
from coordinator.operations.audit_tables import Actor
from coordinator.responses import json_response
from coordinator.security.auth import principal_of
from coordinator.security.credentials import NAME_MAX, registration
from coordinator.state import COMMITTER
from coordinator.tables import LettersConsumedBy, MessageFormat, OrganisationCreate, Role, Sector
from messages.errors import IdentifierError
from messages.identifiers import parse_gln, parse_sor
from wire.admin import OrganisationRegistered, RegisteredOrganisation

routes = web.RouteTableDef()

_MUNICIPALITY = re.compile(r"^[0-9]{3}$")
_FIELDS = {"gln", "name", "sector", "sor", "municipality", "format", "letters_consumed_by"}


def _organisation(data: Any) -> OrganisationCreate:
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", code="invalid-json")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise InvalidOrganisation(f"unknown fields: {', '.join(unknown)}")
    try:
        raw_gln = data.get("gln")
        gln = parse_gln(raw_gln if isinstance(raw_gln, str) else "")
    except IdentifierError:
        raise InvalidOrganisation(
            "gln must be a 13-digit location number with a correct check digit",
            code="invalid-gln",
        ) from None
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        raise InvalidOrganisation(f"name must be 1-{NAME_MAX} characters", code="invalid-name")
    try:
        sector = Sector(str(data.get("sector")))
    except ValueError:
        raise InvalidOrganisation(
            f"sector must be one of {', '.join(s.value for s in Sector)}", code="invalid-sector"
        ) from None
    sor = data.get("sor")
    if sor is not None:
        try:
            sor = parse_sor(sor)
        except IdentifierError:
            raise InvalidOrganisation("a SOR code is 15 or 16 digits", code="invalid-sor") from None
    municipality = data.get("municipality")
    if municipality is not None and (
        not isinstance(municipality, str) or not _MUNICIPALITY.match(municipality)
    ):
        raise InvalidOrganisation(
            "a municipality code is three digits", code="invalid-municipality"
        )
    try:
        fmt = MessageFormat(str(data.get("format", MessageFormat.OIOXML.value)))
    except ValueError:
        raise InvalidOrganisation(
            f"format must be one of {', '.join(f.value for f in MessageFormat)}",
            code="invalid-format",
        ) from None
    try:
        consumer = LettersConsumedBy(str(data.get("letters_consumed_by", "system")))
    except ValueError:
        raise InvalidOrganisation(
            f"letters_consumed_by must be one of {', '.join(c.value for c in LettersConsumedBy)}",
            code="invalid-letters-consumed-by",
        ) from None
    return OrganisationCreate(
        gln=gln,
        name=name.strip(),
        sector=sector,
        sor=sor,
        municipality=municipality,
        format=fmt,
        letters_consumed_by=consumer,
    )


@routes.post("/v1/admin/organisations")
async def post_organisation(request: web.Request) -> web.Response:
    principal = principal_of(request)
    principal.require(Role.ADMIN)
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the organisation as Content-Type: application/json")
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("the body is not JSON", code="invalid-json") from None
    organisation = _organisation(data)
    actor = Actor(uuid.UUID(principal.credential_id), principal.name, principal.org_gln)
    created, token = await request.app[COMMITTER].call(registration(organisation, actor))
    # committed: built without validation, so nothing can fail between the commit and the
    # one answer that carries the token
    answer = OrganisationRegistered.model_construct(
        organisation=RegisteredOrganisation.model_construct(
            id=created.id, **organisation.model_dump()
        ),
        token=token,
    )
    return json_response(answer, status=201, headers={"Cache-Control": "no-store"})
