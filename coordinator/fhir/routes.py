"""``/fhir/r4``: the shared index's overview of a child, read as FHIR R4.

* ``GET /fhir/r4/metadata``: the ``CapabilityStatement`` (public, as ``/v1/openapi.json``);
* ``GET /fhir/r4/{EpisodeOfCare,Appointment,CareTeam,Consent}?patient:identifier=
  urn:oid:1.2.208.176.1.2|<cpr>``: one resource type of the overview, a ``searchset`` Bundle;
* ``GET /fhir/r4/Patient/$overview?identifier=urn:oid:1.2.208.176.1.2|<cpr>``: the whole
  overview as one ``searchset`` Bundle (every type as matches, the organisations they name as
  includes).

The rules are the overview's, because every answer is one call of
:func:`coordinator.index.disclosure.disclose_overview`: the caller authenticates as for
``/v1`` and must have an active case of its own for the child (403 ``no-active-case``, the
same answer whether or not the child is known); other organisations' entries are shown only
where consent opens them, judged per owner on every call; a call that shows any is logged
once (one access-log entry, naming the person: a user token's name or ``X-On-Behalf-Of``)
before it is answered. A search for one resource type discloses, and logs, only the owners
that type shows (cases for ``EpisodeOfCare``, appointments for ``Appointment``, the
coordinator and the cases' contacts for ``CareTeam``; ``Consent`` shows no one's entries).

Search parameters are strict: any other parameter is a 400 ``invalid-search``. The CPR
number is in the query string, so it is never echoed in an error and never logged (the hub
keeps no access log, and its error log names routes, not URLs).
"""

from __future__ import annotations

from aiohttp import web

from coordinator.errors import BadRequest
from coordinator.fhir.capability import CAPABILITY_STATEMENT, PATIENT_IDENTIFIER
from coordinator.fhir.mapping import CPR_SYSTEM, Kind, overview_bundle, search
from coordinator.fhir.outcome import fhir_response
from coordinator.index.disclosure import EVERYTHING, Shown
from coordinator.index.routes import _index_user, overview_for
from coordinator.index.store import Overview, Viewer
from messages.errors import IdentifierError
from messages.identifiers import Cpr, parse_cpr

routes = web.RouteTableDef()

BASE = "/fhir/r4"
_FORMATS = frozenset({"json", "application/json", "application/fhir+json"})

SHOWS: dict[Kind, frozenset[Shown]] = {
    Kind.EPISODE_OF_CARE: frozenset({Shown.CASES}),
    Kind.APPOINTMENT: frozenset({Shown.APPOINTMENTS}),
    Kind.CARE_TEAM: frozenset({Shown.CASES, Shown.COORDINATOR}),
    Kind.CONSENT: frozenset(),
}
"""What each resource type's search shows of other organisations (and so discloses)."""


def _child(request: web.Request, name: str) -> Cpr:
    """The child of a search: ``name=urn:oid:1.2.208.176.1.2|<cpr>``, the only parameter
    (besides a JSON ``_format``)."""
    query = request.query
    if any(key not in (name, "_format") for key in query):
        raise BadRequest(
            f"this search takes only {name}={CPR_SYSTEM}|<CPR number> (and _format=json)",
            code="invalid-search",
        )
    if any(value not in _FORMATS for value in query.getall("_format", [])):
        raise BadRequest("the hub answers FHIR in JSON only", code="invalid-search")
    values = query.getall(name, [])
    if len(values) != 1:
        raise BadRequest(
            f"name the child once: {name}={CPR_SYSTEM}|<CPR number>", code="invalid-search"
        )
    system, bar, value = values[0].partition("|")
    if not bar or system != CPR_SYSTEM:
        raise BadRequest(
            f"the child is named by its CPR identifier: {name}={CPR_SYSTEM}|<CPR number>",
            code="invalid-search",
        )
    try:
        return parse_cpr(value)
    except IdentifierError:
        raise BadRequest(
            "the identifier is not a valid CPR number (10 digits, DDMMYY and 4 digits, a "
            "real date)",
            code="invalid-cpr",
        ) from None


async def _look(
    request: web.Request, name: str, shows: frozenset[Shown]
) -> tuple[Overview, Cpr, Viewer]:
    """One look at the child: the overview (only ``shows`` of others), disclosed and logged."""
    viewer = _index_user(request)
    cpr = _child(request, name)
    return await overview_for(request, viewer, cpr, shows), cpr, viewer


def _base(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}{BASE}/"


@routes.get(f"{BASE}/metadata")
async def metadata(request: web.Request) -> web.Response:
    return fhir_response(CAPABILITY_STATEMENT)


def _search_route(kind: Kind) -> None:
    async def search_kind(request: web.Request) -> web.Response:
        result, cpr, viewer = await _look(request, PATIENT_IDENTIFIER, SHOWS[kind])
        return fhir_response(
            search(result, kind, cpr=cpr.digits, caller_gln=viewer.org_gln, base=_base(request))
        )

    search_kind.__name__ = f"search_{kind.value}"
    routes.get(f"{BASE}/{kind.value}")(search_kind)


for _kind in Kind:
    _search_route(_kind)


@routes.get(f"{BASE}/Patient/$overview")
async def patient_overview(request: web.Request) -> web.Response:
    result, cpr, viewer = await _look(request, "identifier", EVERYTHING)
    return fhir_response(
        overview_bundle(result, cpr=cpr.digits, caller_gln=viewer.org_gln, base=_base(request))
    )
