"""``/v1`` shared index: cases, appointments, the child overview, consents, the coordinator,
the access log and owners' access notifications.

Rules (see :mod:`coordinator.index.consent` and the README's "The shared index"):

* presence, not content: a body with a field the index does not hold is refused;
* no browsing: every ``/v1/children/{cpr}/...`` call needs an active case of the caller's own
  organisation for that child (403 ``no-active-case``), the same answer whether or not the
  child is known;
* other organisations' entries only under consent, judged per owner organisation on every
  call under the hub's consent policy (a revocation or a dispute counts from the next call);
  withheld sectors are named whether or not anyone of them is involved;
* a consent is **attested** (a caseworker records who consented) or **verified** (a
  document signed by the consent service, checked by
  :mod:`coordinator.index.verified_consent` against the keys
  :mod:`coordinator.index.consent_keys` holds; recorded once, the document kept);
* every read that discloses another organisation's data is logged with the person (a user
  credential's name, or ``X-On-Behalf-Of`` from a system token) and its kind before it is
  answered: an overview showing other organisations' entries, a consent list showing
  consents others recorded, an access log naming other organisations; an operator's read of
  a child's access log is logged always, and needs a stated reason (``X-Access-Reason``, 400
  ``access-reason-missing`` without it). Every such read goes through
  :mod:`coordinator.index.disclosure`, which returns only once the entry has been committed;
* nothing about others without consent: the consent list shows the consents the caller
  recorded and those naming its sector or itself (:func:`coordinator.index.consent.listing`),
  the access log names only organisations consent opens to the caller
  (:mod:`coordinator.index.access_log`), and the overview is the same whether or not anyone
  else is involved.

A CPR number is validated with :func:`messages.identifiers.parse_cpr` and never echoed in an
error or a log line.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from coordinator.errors import (
    BadRequest,
    Forbidden,
    InvalidEntry,
    UnsupportedMediaType,
)
from coordinator.index.consent import Missing, age_on, age_rule, may_record
from coordinator.index.disclosure import (
    EVERYTHING,
    REASON_LENGTH,
    Shown,
    disclose_access_log,
    disclose_access_notifications,
    disclose_consents,
    disclose_overview,
)
from coordinator.index.disputes import dispute_consent
from coordinator.index.store import (
    ConsentList,
    Overview,
    Viewer,
    add_consent,
    add_verified_consent,
    put_appointment,
    put_case,
    put_coordinator,
    revoke_consent,
    upsert_entries,
)
from coordinator.index.tables import (
    IDEMPOTENCY_KEY_LENGTH,
    ConsentCreate,
    ConsentForm,
    ConsentRelation,
    CoordinatorCreate,
)
from coordinator.params import header_text, path_id, whole_number
from coordinator.responses import json_response
from coordinator.security.auth import principal_of
from coordinator.state import (
    CLOCK,
    COMMITTER,
    CONSENT_KEYS,
    CONSENT_POLICY,
    ENGINE,
    READER,
    SETTINGS,
)
from coordinator.tables import Role, Sector
from messages.errors import IdentifierError
from messages.identifiers import Cpr, parse_cpr
from wire.entries import (
    REF_LENGTH,
    REF_PATTERN,
    AppointmentEntry,
    AppointmentStatus,
    CaseEntry,
    Contact,
    EntryRefused,
    check_appointment,
    check_case,
    entry_problems,
)
from wire.index import (
    AccessLog,
    AccessLogEntry,
    AccessNotification,
    AccessNotifications,
    AccessViewer,
    ConsentDispute,
    ConsentDisputed,
    ConsentDisputeIn,
    ConsentEntry,
    ConsentRecorded,
    ConsentRevoked,
    Consents,
    ConsentVerification,
    CoordinatorNamed,
    Disclosed,
    Notification,
    OwnerNotification,
    Partner,
    Upserted,
    VerifiedConsentIn,
    ViewKind,
    check_consent,
)
from wire.index import Overview as OverviewAnswer

routes = web.RouteTableDef()

INDEX_ROLES = (Role.SYSTEM, Role.CASEWORKER)
ON_BEHALF_OF = "X-On-Behalf-Of"
ACCESS_REASON = "X-Access-Reason"  # an operator's reason for reading a child's access log
OVERLAP = timedelta(hours=48)

M = TypeVar("M", bound=BaseModel)
E = TypeVar("E")


# --- request parts -------------------------------------------------------------------------


def _index_user(request: web.Request) -> Viewer:
    """The caller as an organisation's system or caseworker, with the person for the log."""
    principal = principal_of(request)
    if principal.role not in INDEX_ROLES:
        raise Forbidden(f"the role {principal.role.value} does not see children's cases")
    if principal.role is Role.SYSTEM:  # a user token names itself; the header is ignored
        person = header_text(request, ON_BEHALF_OF, max_length=200, code="invalid-on-behalf-of")
        if person is not None:
            return Viewer(principal.org_gln, person, uuid.UUID(principal.credential_id), True)
    return Viewer(principal.org_gln, principal.name, uuid.UUID(principal.credential_id), False)


def _person_required(viewer: Viewer, request: web.Request) -> None:
    if principal_of(request).role is Role.SYSTEM and not viewer.on_behalf_of:
        raise BadRequest(
            f"a system token must name the person it asks for in {ON_BEHALF_OF}: "
            "every disclosure is logged with who looked",
            code="on-behalf-of-missing",
        )


async def overview_for(
    request: web.Request, viewer: Viewer, cpr: Cpr, shows: frozenset[Shown] = EVERYTHING
) -> Overview:
    """The overview of ``cpr`` that ``viewer`` asks for in ``request`` (only ``shows`` of
    the other organisations' entries), disclosed and logged under the hub's settings and
    consent policy; a system token must name its person first."""
    _person_required(viewer, request)
    app = request.app
    return await disclose_overview(
        reader=app[READER],
        committer=app[COMMITTER],
        viewer=viewer,
        cpr=cpr,
        recent=app[SETTINGS].index_recent,
        policy=app[CONSENT_POLICY],
        shows=shows,
    )


def _path_cpr(request: web.Request) -> Cpr:
    try:
        return parse_cpr(request.match_info["cpr"])
    except IdentifierError:
        raise BadRequest(
            "the path does not hold a valid CPR number (10 digits, DDMMYY and 4 digits, "
            "a real date)",
            code="invalid-cpr",
        ) from None


def _body_cpr(value: str) -> Cpr:
    try:
        return parse_cpr(value)
    except IdentifierError:
        raise InvalidEntry(
            "child_cpr is not a valid CPR number (10 digits, DDMMYY and 4 digits, a real date)",
            code="invalid-cpr",
        ) from None


def _ref(request: web.Request) -> str:
    ref = request.match_info["ref"]
    if not REF_PATTERN.fullmatch(ref):
        raise BadRequest(
            f"a reference is 1-{REF_LENGTH} letters, digits, '.', '_', ':' or '-'",
            code="invalid-ref",
        )
    return ref


async def _json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the body as Content-Type: application/json")
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not JSON", code="invalid-json") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", code="invalid-json")
    return data


def _validated(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidEntry(f"the body is not a valid entry: {entry_problems(exc)}") from None


async def _body(request: web.Request, model: type[M]) -> M:
    return _validated(model, await _json_object(request))


def _checked(rule: Callable[[E], None], entry: E) -> None:
    try:
        rule(entry)
    except EntryRefused as exc:
        raise InvalidEntry(exc.message, code=exc.code) from None


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise InvalidEntry(f"{name} needs a time zone (e.g. ...Z or +01:00)", code="naive-time")


# --- upserts -------------------------------------------------------------------------------


@routes.put("/v1/cases/{ref}")
async def put_case_route(request: web.Request) -> web.Response:
    viewer = _index_user(request)
    ref = _ref(request)
    case = await _body(request, CaseEntry)
    cpr = _body_cpr(case.child_cpr)
    _checked(check_case, case)
    app = request.app
    stored = await app[COMMITTER].bulk(
        upsert_entries,
        put_case(org_gln=viewer.org_gln, ref=ref, cpr=cpr, case=case, at=app[CLOCK]()),
    )
    return json_response(
        Upserted(
            ref=ref,
            status=case.status.value,
            created=stored.created,
            told=[Partner(organisation=p.gln, name=p.name, sector=p.sector) for p in stored.told],
        ),
        status=201 if stored.created else 200,
        headers={"Location": f"/v1/cases/{ref}"},
    )


@routes.put("/v1/appointments/{ref}")
async def put_appointment_route(request: web.Request) -> web.Response:
    viewer = _index_user(request)
    ref = _ref(request)
    appointment = await _body(request, AppointmentEntry)
    cpr = _body_cpr(appointment.child_cpr)
    _checked(check_appointment, appointment)
    app = request.app
    stored = await app[COMMITTER].bulk(
        upsert_entries,
        put_appointment(
            org_gln=viewer.org_gln, ref=ref, cpr=cpr, appointment=appointment, at=app[CLOCK]()
        ),
    )
    return json_response(
        Upserted(ref=ref, status=appointment.status.value, created=stored.created),
        status=201 if stored.created else 200,
        headers={"Location": f"/v1/appointments/{ref}"},
        exclude_unset=True,  # told: a case's answer only
    )


# --- the overview --------------------------------------------------------------------------


def _contact(name: str, role: str, phone: str | None, email: str | None) -> dict[str, Any]:
    return {"name": name, "role": role, "phone": phone, "email": email}


def _case_json(row: Any, *, own: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "organisation": row.org_gln,
        "organisation_name": row.org_name,
        "sector": row.org_sector,
        "kind": row.kind,
        "status": row.status,
        "opened_on": row.opened_on,
        "closed_on": row.closed_on,
        "contact": _contact(
            row.contact_name, row.contact_role, row.contact_phone, row.contact_email
        ),
    }
    if own:  # the local reference and the title stay with the owner
        body["ref"] = row.ref
        body["title"] = row.title
    return body


def _appointment_json(row: Any, *, own: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "organisation": row.org_gln,
        "organisation_name": row.org_name,
        "sector": row.org_sector,
        "starts_at": row.starts_at,
        "ends_at": row.ends_at,
        "status": row.status,
        "location": row.location,
        "with": {"name": row.with_name, "role": row.with_role},
    }
    if own:
        body["ref"] = row.ref
        body["case_ref"] = row.case_ref
    return body


def overlap_hints(appointments: list[Any], window: timedelta = OVERLAP) -> list[dict[str, Any]]:
    """Booked appointments of two different sectors starting within ``window`` of each other."""
    booked = sorted(
        (a for a in appointments if a.status == AppointmentStatus.BOOKED.value),
        key=lambda a: a.starts_at,
    )
    hints: list[dict[str, Any]] = []
    for i, first in enumerate(booked):
        for second in booked[i + 1 :]:
            if second.starts_at - first.starts_at > window:
                break
            if first.org_sector == second.org_sector:
                continue
            hints.append(
                {
                    "code": "appointments-within-48h",
                    "detail": f"{first.org_sector} and {second.org_sector} have appointments "
                    "with the child within 48 hours of each other; consider coordinating.",
                    "sectors": [first.org_sector, second.org_sector],
                    "appointments": [
                        {
                            "organisation": a.org_gln,
                            "sector": a.org_sector,
                            "starts_at": a.starts_at,
                        }
                        for a in (first, second)
                    ],
                }
            )
    return hints


def _verdict(missing: Missing | None) -> str:
    """A sector's verdict as the answers write it: ``shared``, or why not."""
    return missing.value if missing is not None else "shared"


_REASONS = {
    Missing.NO_CONSENT: "no active consent covers your organisation and theirs",
    Missing.OWN_CONSENT_NEEDED: "the young person's own consent is needed",
    Missing.PARENT_CONSENT_NEEDED: "a custodial parent's (or guardian's) consent is needed",
    Missing.VERIFIED_CONSENT_NEEDED: "their data opens only under a verified consent (signed "
    "by the consent service) or one recorded by their own sector",
    Missing.DISPUTED: "they disputed the consent that would open their data",
}


def _consent_json(result: Overview) -> dict[str, Any]:
    withheld = {s.value: v.value for s, v in result.verdicts.items() if v is not None}
    shared = [s.value for s, v in result.verdicts.items() if v is None]
    state = "complete" if not withheld else ("missing" if not shared else "partial")
    body: dict[str, Any] = {
        "state": state,
        "age": result.age,
        "rule": age_rule(result.age),
        "sectors": {s.value: _verdict(v) for s, v in result.verdicts.items()},
        "opened_by": [
            {
                "relation": o.relation,
                "verification": o.verification,
                "valid_until": o.valid_until,
                "sectors": [s.value for s in Sector if s in o.sectors],
                "recorded_by_you": o.recorded_by_you,
            }
            for o in result.opened_by
        ],
        "would_open": {
            relation.value: {s.value: _verdict(v) for s, v in verdicts.items()}
            for relation, verdicts in result.would_open.items()
        },
    }
    if withheld:
        parts = [f"{s}: {_REASONS[Missing(v)]}" for s, v in sorted(withheld.items())]
        body["detail"] = (
            "Other organisations' entries from these sectors are not shown, because consent "
            "is missing (this says nothing about whether any exist; an organisation a consent "
            "names is judged on its own): " + "; ".join(parts) + "."
        )
    return body


@routes.get("/v1/children/{cpr}/overview")
async def child_overview(request: web.Request) -> web.Response:
    viewer = _index_user(request)
    result = await overview_for(request, viewer, _path_cpr(request))
    coordinator = result.coordinator
    # validated in one call of pydantic's core (faster than building the models one by one);
    # exclude_unset: ref, title and case_ref only on the caller's own entries, detail only when
    # consent is missing
    answer = OverviewAnswer.model_validate(
        {
            "own": {
                "cases": [_case_json(c, own=True) for c in result.own_cases],
                "appointments": [_appointment_json(a, own=True) for a in result.own_appointments],
            },
            "others": {
                "cases": [_case_json(c, own=False) for c in result.other_cases],
                "appointments": [
                    _appointment_json(a, own=False) for a in result.other_appointments
                ],
            },
            "coordinator": None
            if coordinator is None
            else {
                "organisation": coordinator.org_gln,
                "organisation_name": coordinator.org_name,
                "sector": coordinator.org_sector,
                "contact": _contact(
                    coordinator.contact_name,
                    coordinator.contact_role,
                    coordinator.contact_phone,
                    coordinator.contact_email,
                ),
            },
            "consent": _consent_json(result),
            "hints": overlap_hints([*result.own_appointments, *result.other_appointments]),
            "disclosed": result.disclosed,
        }
    )
    return json_response(answer, exclude_unset=True)


# --- consents and the coordinator ----------------------------------------------------------


@routes.post("/v1/children/{cpr}/consents")
async def post_consent(request: web.Request) -> web.Response:
    viewer = _index_user(request)
    cpr = _path_cpr(request)
    data = await _json_object(request)
    if "document" in data:  # a consent document signed by the consent service
        return await _record_verified(request, viewer, cpr, _validated(VerifiedConsentIn, data))
    consent = _validated(ConsentCreate, data)
    _checked(check_consent, consent)
    now = request.app[CLOCK]()
    if consent.valid_from is None:
        consent.valid_from = now
    _aware("valid_from", consent.valid_from)
    _aware("valid_until", consent.valid_until)
    if consent.valid_until is not None and consent.valid_until <= consent.valid_from:
        raise InvalidEntry("valid_until must be after valid_from", code="invalid-period")
    _may_consent_at_age(consent.relation, cpr, now)
    consent_id, created = await request.app[COMMITTER].call(
        add_consent(
            viewer=viewer,
            cpr=cpr,
            consent=consent,
            idempotency_key=_idempotency_key(request),
            at=now,
        )
    )
    return json_response(
        ConsentRecorded(id=consent_id, recorded_at=now, created=created),
        status=201 if created else 200,
    )


async def _record_verified(
    request: web.Request, viewer: Viewer, cpr: Cpr, body: VerifiedConsentIn
) -> web.Response:
    """A signed consent document: verified against the consent service's keys
    (:mod:`coordinator.index.verified_consent`), judged by the age rule as any consent, then
    recorded as ``verified`` with the document kept."""
    keys = request.app[CONSENT_KEYS]
    if keys is None:
        raise InvalidEntry(
            "this hub is not configured to check signed consents (SAMSPIL_CONSENT_JWKS is not "
            "set): record the consent as attested (given_by_name, relation, form, sectors), "
            "or ask the hub's operator to configure the consent service's keys",
            code="consent-service-not-configured",
        )
    idempotency_key = _idempotency_key(request)
    claims = await keys.verify(body.document, child=cpr.digits)
    now = request.app[CLOCK]()
    _may_consent_at_age(claims.relation, cpr, now)
    consent_id, created = await request.app[COMMITTER].call(
        add_verified_consent(
            viewer=viewer,
            cpr=cpr,
            claims=claims,
            document=body.document,
            idempotency_key=idempotency_key,
        )
    )
    return json_response(
        ConsentRecorded(id=consent_id, recorded_at=now, created=created),
        status=201 if created else 200,
    )


def _may_consent_at_age(relation: ConsentRelation, cpr: Cpr, now: datetime) -> None:
    """Refuse a consent whose giver cannot consent for anything at the child's age today."""
    if may_record(relation, age_on(cpr.birth_date, now.date())):
        return
    who = (
        "a child under 15 cannot give their own consent: a custodial parent (or guardian) consents"
        if relation is ConsentRelation.SELF
        else "from 18 only the person's own consent counts"
    )
    raise InvalidEntry(who, code="consent-not-valid-for-age")


def _idempotency_key(request: web.Request) -> str | None:
    """The ``Idempotency-Key`` header: 1-128 visible ASCII characters, or absent."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise BadRequest(
            f"Idempotency-Key is 1 to {IDEMPOTENCY_KEY_LENGTH} visible ASCII characters",
            code="invalid-idempotency-key",
        )
    return key


@routes.get("/v1/children/{cpr}/consents")
async def get_consents(request: web.Request) -> web.Response:
    viewer = _index_user(request)
    cpr = _path_cpr(request)
    found = await disclose_consents(
        engine=request.app[ENGINE],
        committer=request.app[COMMITTER],
        viewer=viewer,
        cpr=cpr,
        policy=request.app[CONSENT_POLICY],
    )
    return json_response(
        Consents(
            consents=[
                ConsentEntry(
                    id=r.id,
                    given_by_name=r.given_by_name,
                    relation=ConsentRelation(r.relation),
                    sectors=[Sector(s) for s in r.sectors],
                    organisations=r.organisations,
                    verification=ConsentVerification(r.verification),
                    form=ConsentForm(r.form),
                    valid_from=r.valid_from,
                    valid_until=r.valid_until,
                    revoked_at=r.revoked_at,
                    recorded_at=r.recorded_at,
                    recorded_by_you=r.recorded_by_you,
                    recorded_by_org=r.recorder,
                    recorded_by=r.recorded_by,
                    active=r.active,
                    opens={s: _verdict(v) for s, v in r.opens.items()},
                    disputes=_disputes(found, r.id),
                )
                for r in found.consents
            ]
        )
    )


def _disputes(found: ConsentList, consent_id: uuid.UUID) -> list[ConsentDispute]:
    return [
        ConsentDispute(
            organisation=d.org_gln,
            organisation_name=d.org_name,
            person=d.person,
            reason=d.reason,
            at=d.at,
        )
        for d in found.disputes.get(consent_id, [])
    ]


def _consent_id(request: web.Request) -> uuid.UUID:
    return path_id(request, not_found="no such consent for this child")


@routes.delete("/v1/children/{cpr}/consents/{id}")
async def delete_consent(request: web.Request) -> web.Response:
    viewer = _index_user(request)
    cpr = _path_cpr(request)
    consent_id = _consent_id(request)
    revoked_at = await request.app[COMMITTER].call(
        revoke_consent(viewer=viewer, cpr=cpr, consent_id=consent_id)
    )
    return json_response(ConsentRevoked(id=consent_id, revoked_at=revoked_at))


@routes.post("/v1/children/{cpr}/consents/{id}/dispute")
async def post_dispute(request: web.Request) -> web.Response:
    """An owner disputes an attested consent that covers its data: from the next call the
    consent no longer opens that owner's data, and its recorder is told."""
    viewer = _index_user(request)
    cpr = _path_cpr(request)
    consent_id = _consent_id(request)
    _person_required(viewer, request)
    dispute = await _body(request, ConsentDisputeIn)
    disputed_at, created = await request.app[COMMITTER].call(
        dispute_consent(viewer=viewer, cpr=cpr, consent_id=consent_id, reason=dispute.reason)
    )
    return json_response(
        ConsentDisputed(consent_id=consent_id, disputed_at=disputed_at, created=created),
        status=201 if created else 200,
    )


@routes.put("/v1/children/{cpr}/coordinator")
async def put_coordinator_route(request: web.Request) -> web.Response:
    viewer = _index_user(request)
    cpr = _path_cpr(request)
    coordinator = await _body(request, CoordinatorCreate)
    await request.app[COMMITTER].call(
        put_coordinator(viewer=viewer, cpr=cpr, coordinator=coordinator)
    )
    return json_response(
        CoordinatorNamed(organisation=coordinator.organisation, contact=coordinator.contact)
    )


# --- who looked ----------------------------------------------------------------------------


@routes.get("/v1/children/{cpr}/access-log")
async def get_access_log(request: web.Request) -> web.Response:
    principal = principal_of(request)
    operator = principal.role is Role.OPERATOR
    reason = None
    if operator:
        viewer = Viewer(
            principal.org_gln, principal.name, uuid.UUID(principal.credential_id), False
        )
        reason = header_text(
            request, ACCESS_REASON, max_length=REASON_LENGTH, code="invalid-access-reason"
        )
    else:
        viewer = _index_user(request)
    cpr = _path_cpr(request)
    views = await disclose_access_log(
        engine=request.app[ENGINE],
        committer=request.app[COMMITTER],
        viewer=viewer,
        cpr=cpr,
        operator=operator,
        limit=whole_number(request, "limit", default=500, low=1, high=5000),
        policy=request.app[CONSENT_POLICY],
        reason=reason,
    )
    return json_response(
        AccessLog(
            entries=[
                AccessLogEntry(
                    at=v.at,
                    kind=ViewKind(v.kind),
                    operator=v.by_operator,
                    organisation=v.viewer_org,
                    organisation_name=v.viewer_name,
                    person=v.viewer_person,
                    on_behalf_of=v.on_behalf_of,
                    disclosed=[Disclosed(organisation=g, name=n) for g, n in v.disclosed],
                    reason=v.reason,
                )
                for v in views
            ]
        )
    )


@routes.get("/v1/access-notifications")
async def get_access_notifications(request: web.Request) -> web.Response:
    viewer = _index_user(request)
    raw = request.query.get("since")
    since = None
    if raw is not None:
        try:
            since = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise BadRequest("since must be an ISO 8601 time with a time zone") from None
        if since.tzinfo is None:
            raise BadRequest("since must be an ISO 8601 time with a time zone")
    rows = await disclose_access_notifications(
        engine=request.app[ENGINE],
        owner=viewer.org_gln,
        since=since,
        limit=whole_number(request, "limit", default=100, low=1, high=1000),
    )
    return json_response(AccessNotifications(notifications=[_notification(r) for r in rows]))


_VIEW_KINDS = frozenset(ViewKind)


def _notification(row: Any) -> Notification:
    """A view of the owner's entries (its viewer), or a notification (the other
    organisation, and the consent, contact and detail where the row has them)."""
    if row.kind in _VIEW_KINDS:
        return AccessNotification(
            at=row.at,
            child_cpr=row.cpr,
            kind=row.kind,
            viewer=AccessViewer(
                organisation=row.viewer_org,
                name=row.viewer_name,
                sector=row.viewer_sector,
                person=row.viewer_person,
                on_behalf_of=row.on_behalf_of,
                operator=row.viewer_role == Role.OPERATOR.value,
            ),
        )
    contact = None
    if row.contact_name is not None and row.contact_role is not None:
        contact = Contact(
            name=row.contact_name,
            role=row.contact_role,
            phone=row.contact_phone,
            email=row.contact_email,
        )
    return OwnerNotification(
        at=row.at,
        child_cpr=row.cpr,
        kind=row.kind,
        about=Partner(organisation=row.about_org, name=row.about_name, sector=row.about_sector),
        consent_id=row.consent_id,
        contact=contact,
        detail=row.detail,
    )
