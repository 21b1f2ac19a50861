"""``/v1/operator/...``: what the operator monitor reads and the actions it takes.

Operator and admin roles only. Operators see metadata — types, organisations, statuses and
times — never a body or a CPR number. Every action (re-deliver an expired letter, send a
sender its status report again, disable or enable an organisation's system token, revoke one
of its client certificates) is written to the audit trail
(:mod:`coordinator.operations.audit_tables`) in the same transaction as the change.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from coordinator.errors import (
    BadRequest,
    InvalidRevocation,
    NotFound,
    StoreError,
    UnsupportedMediaType,
)
from coordinator.mailbox.status import MessageStatus
from coordinator.mailbox.store import ping
from coordinator.operations.audit_tables import Actor
from coordinator.operations.metrics import BUCKETS, METRICS
from coordinator.operations.store import (
    audit_entries,
    message_meta,
    organisations,
    queue,
    redeliver,
    status_report,
    throughput,
    trail,
)
from coordinator.params import whole_number
from coordinator.responses import json_response
from coordinator.security import revocation
from coordinator.security.auth import VERIFIER, Principal, principal_of
from coordinator.security.certificates import (
    Revocation,
    certificate_revocation,
    certificate_serial,
    revocation_reason,
    revoked_certificates,
)
from coordinator.security.credentials import consumer_switch, format_switch, token_switch
from coordinator.sqltypes import utcnow
from coordinator.state import COMMITTER, DIRECTORY, ENGINE, SETTINGS
from coordinator.tables import Role
from messages.errors import IdentifierError
from messages.identifiers import parse_gln
from wire.directory import LettersConsumedBy, MessageFormat, Sector
from wire.operator import (
    Audit,
    AuditEntry,
    DatabaseHealth,
    FormatState,
    Health,
    LettersConsumer,
    LettersConsumerIn,
    MessageMeta,
    OperatorOrganisations,
    OrganisationState,
    Queue,
    Redelivered,
    Reported,
    RevokedCertificate,
    RevokedCertificates,
    Throughput,
    TokenState,
    Trail,
)

routes = web.RouteTableDef()

OPERATOR_ROLES = (Role.OPERATOR, Role.ADMIN)
SUBMIT_ROUTE = ("POST", "/v1/messages")


def _operator(request: web.Request) -> Principal:
    principal = principal_of(request)
    principal.require(*OPERATOR_ROLES)
    return principal


def _actor(principal: Principal) -> Actor:
    return Actor(uuid.UUID(principal.credential_id), principal.name, principal.org_gln)


def _message_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["id"])
    except ValueError:
        raise NotFound("no such message") from None


def _gln(request: web.Request) -> str:
    try:
        return parse_gln(request.match_info["gln"])
    except IdentifierError:
        raise BadRequest("the path does not hold a valid GLN", code="invalid-gln") from None


def _meta(row: Any) -> dict[str, Any]:
    """A message's metadata as :class:`wire.operator.MessageMeta`'s fields."""
    return {
        "id": row.id,
        "type": row.type,
        "sender": row.sender_gln,
        "receiver": row.receiver_gln,
        "envelope_id": row.envelope_id,
        "letter_id": row.letter_id,
        "episode_id": row.episode_id,
        "ack_requested": row.ack_requested,
        "status": row.status,
        "in_inbox": row.in_inbox,
        "resend": row.is_resend,
        "resend_of": row.resend_of,
        "original_id": row.original_id,
        "receipt_id": row.receipt_id,
        "overdue": row.overdue,
        "size": row.size,
        "received_at": row.received_at,
        "updated_at": row.updated_at,
    }


@routes.get("/v1/operator/throughput")
async def get_throughput(request: web.Request) -> web.Response:
    _operator(request)
    minutes = whole_number(request, "minutes", default=60, low=1, high=24 * 60)
    now = utcnow()
    series = await throughput(engine=request.app[ENGINE], now=now, minutes=minutes)
    total = [sum(column) for column in zip(*series.values(), strict=True)] or [0] * minutes
    return json_response(Throughput(until=now, minutes=minutes, by_type=series, total=total))


def _p99_ms(request: web.Request) -> float | None:
    histogram = request.app[METRICS].latency.get(SUBMIT_ROUTE)
    if histogram is None or histogram.n == 0:
        return None
    wanted = histogram.n * 0.99
    running = 0
    for bound, count in zip((*BUCKETS, float("inf")), histogram.counts, strict=True):
        running += count
        if running >= wanted:
            return bound * 1000 if bound != float("inf") else None
    return None


@routes.get("/v1/operator/health")
async def get_health(request: web.Request) -> web.Response:
    _operator(request)
    app = request.app
    started = time.perf_counter()
    try:
        await ping(engine=app[ENGINE])
        database = DatabaseHealth(
            ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 2)
        )
    except StoreError:
        database = DatabaseHealth(ok=False, latency_ms=None)
    try:
        usage = shutil.disk_usage(app[SETTINGS].data_dir)
        disk_percent: float | None = round(usage.used / usage.total * 100, 1)
    except OSError:
        disk_percent = None
    metrics = app[METRICS]
    responses = sum(metrics.responses.values())
    failures = sum(n for (_m, _r, status), n in metrics.responses.items() if status >= 500)
    return json_response(
        Health(
            database=database,
            disk_used_percent=disk_percent,
            uptime_seconds=round(time.time() - metrics.started, 1),
            submit_p99_ms=_p99_ms(request),
            responses=responses,
            server_errors=failures,
            error_rate_percent=round(failures / responses * 100, 2) if responses else 0.0,
        )
    )


@routes.get("/v1/operator/organisations")
async def get_organisations(request: web.Request) -> web.Response:
    _operator(request)
    states = await organisations(engine=request.app[ENGINE])
    return json_response(
        OperatorOrganisations(
            organisations=[
                OrganisationState(
                    gln=s.gln,
                    name=s.name,
                    sector=Sector(s.sector),
                    inbox_depth=s.inbox_depth,
                    oldest_waiting=s.oldest_waiting,
                    last_poll=s.last_poll,
                    token_disabled=s.token_disabled,
                    letters_consumed_by=LettersConsumedBy(s.letters_consumed_by),
                    format=MessageFormat(s.format),
                )
                for s in states
            ]
        )
    )


@routes.get("/v1/operator/organisations/{gln}/queue")
async def get_queue(request: web.Request) -> web.Response:
    _operator(request)
    gln = _gln(request)
    raw = request.query.get("status")
    try:
        wanted = MessageStatus(raw) if raw is not None else None  # "" is no status
    except ValueError:
        raise BadRequest(
            f"status must be one of {', '.join(s.value for s in MessageStatus)}"
        ) from None
    rows = await queue(
        engine=request.app[ENGINE],
        gln=gln,
        limit=whole_number(request, "limit", default=100, low=1, high=1000),
        status=wanted,
    )
    messages = [MessageMeta.model_validate(_meta(r)) for r in rows]
    return json_response(Queue(organisation=gln, messages=messages))


@routes.get("/v1/operator/messages/{id}")
async def get_trail(request: web.Request) -> web.Response:
    _operator(request)
    message_id = _message_id(request)
    engine = request.app[ENGINE]
    row = await message_meta(engine=engine, message_id=message_id)
    events = await trail(engine=engine, message_id=message_id)
    return json_response(
        Trail.model_validate(
            {**_meta(row), "events": [{"status": e.status, "at": e.at} for e in events]}
        )
    )


@routes.post("/v1/operator/messages/{id}/redeliver")
async def post_redeliver(request: web.Request) -> web.Response:
    actor = _actor(_operator(request))
    message_id = _message_id(request)
    new_id = await request.app[COMMITTER].call(redeliver(message_id, actor))
    answer = Redelivered(id=new_id, status=MessageStatus.ACCEPTED, redelivery_of=message_id)
    return json_response(answer, status=201)


@routes.post("/v1/operator/messages/{id}/status-report")
async def post_status_report(request: web.Request) -> web.Response:
    actor = _actor(_operator(request))
    message_id = _message_id(request)
    new_id = await request.app[COMMITTER].call(status_report(message_id, actor))
    answer = Reported(id=new_id, status=MessageStatus.ACCEPTED, report_for=message_id)
    return json_response(answer, status=201)


async def _token(request: web.Request, *, disabled: bool) -> web.Response:
    actor = _actor(_operator(request))
    gln = _gln(request)
    changed = await request.app[COMMITTER].call(token_switch(gln, disabled=disabled, actor=actor))
    if disabled:
        revocation.committed(request.app[VERIFIER], request.app[ENGINE])
    return json_response(TokenState(organisation=gln, token_disabled=disabled, changed=changed))


@routes.post("/v1/operator/organisations/{gln}/disable")
async def post_disable(request: web.Request) -> web.Response:
    return await _token(request, disabled=True)


@routes.post("/v1/operator/organisations/{gln}/enable")
async def post_enable(request: web.Request) -> web.Response:
    return await _token(request, disabled=False)


@routes.put("/v1/operator/organisations/{gln}/format")
async def put_format(request: web.Request) -> web.Response:
    """The letter format an organisation receives (:class:`wire.operator.FormatIn`),
    audited."""
    actor = _actor(_operator(request))
    gln = _gln(request)
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the format as Content-Type: application/json")
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("the body is not JSON", code="invalid-json") from None
    if not isinstance(data, dict) or set(data) != {"format"}:
        raise BadRequest('the body is {"format": "oioxml" | "fhir"}', code="invalid-format")
    try:
        fmt = MessageFormat(str(data["format"]))
    except ValueError:
        raise BadRequest(
            f"format must be one of {', '.join(f.value for f in MessageFormat)}",
            code="invalid-format",
        ) from None
    changed = await request.app[COMMITTER].call(format_switch(gln, fmt, actor=actor))
    request.app[DIRECTORY].forget(gln)
    return json_response(FormatState(organisation=gln, format=fmt, changed=changed))


@routes.post("/v1/operator/organisations/{gln}/letters-consumed-by")
async def post_letters_consumed_by(request: web.Request) -> web.Response:
    """Who takes the organisation's letters out of its inbox from now on: its system or its
    people (audited; every hub process reads it at each fetch and acknowledgement)."""
    actor = _actor(_operator(request))
    gln = _gln(request)
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the choice as Content-Type: application/json")
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("the body is not JSON", code="invalid-json") from None
    try:
        wanted = LettersConsumerIn.model_validate(data).letters_consumed_by
    except ValidationError:
        choices = ", ".join(c.value for c in LettersConsumedBy)
        raise BadRequest(
            f'send {{"letters_consumed_by": one of {choices}}}', code="invalid-choice"
        ) from None
    changed = await request.app[COMMITTER].call(consumer_switch(gln, wanted, actor))
    return json_response(
        LettersConsumer(organisation=gln, letters_consumed_by=wanted, changed=changed)
    )


_REVOCATION_FIELDS = {"serial", "reason"}


async def _revocation_body(request: web.Request) -> tuple[str, str | None]:
    """The serial number and reason of ``POST .../revoked-certificates``
    (:class:`wire.operator.CertificateRevocationIn`)."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the revocation as Content-Type: application/json")
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("the body is not JSON", code="invalid-json") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", code="invalid-json")
    unknown = sorted(set(data) - _REVOCATION_FIELDS)
    if unknown:
        raise InvalidRevocation(f"unknown fields: {', '.join(unknown)}")
    serial, reason = data.get("serial"), data.get("reason")
    if not isinstance(serial, str):
        raise InvalidRevocation(
            "serial is required: the certificate's serial number in hexadecimal",
            code="invalid-serial",
        )
    if reason is not None and not isinstance(reason, str):
        raise InvalidRevocation("reason is text (or left out)", code="invalid-reason")
    return certificate_serial(serial), revocation_reason(reason)


def _revoked(revoked: Revocation) -> RevokedCertificate:
    return RevokedCertificate(
        serial=revoked.serial,
        organisation=revoked.org_gln,
        revoked_at=revoked.revoked_at,
        revoked_by=revoked.revoked_by,
        reason=revoked.reason,
    )


@routes.post("/v1/operator/organisations/{gln}/revoked-certificates")
async def post_revoked_certificate(request: web.Request) -> web.Response:
    actor = _actor(_operator(request))
    gln = _gln(request)
    serial, reason = await _revocation_body(request)
    app = request.app
    revoked = await app[COMMITTER].call(certificate_revocation(gln, serial, reason, actor))
    revocation.committed(app[VERIFIER], app[ENGINE])
    return json_response(_revoked(revoked), status=201)


@routes.get("/v1/operator/organisations/{gln}/revoked-certificates")
async def get_revoked_certificates(request: web.Request) -> web.Response:
    _operator(request)
    gln = _gln(request)
    rows = await revoked_certificates(engine=request.app[ENGINE], gln=gln)
    return json_response(
        RevokedCertificates(organisation=gln, certificates=[_revoked(r) for r in rows])
    )


@routes.get("/v1/operator/audit")
async def get_audit(request: web.Request) -> web.Response:
    _operator(request)
    rows = await audit_entries(
        engine=request.app[ENGINE],
        limit=whole_number(request, "limit", default=100, low=1, high=1000),
    )
    return json_response(
        Audit(
            entries=[
                AuditEntry(
                    id=r.id,
                    at=r.at,
                    action=r.action,
                    target=r.target,
                    result=r.result,
                    actor=r.actor_name,
                    actor_organisation=r.actor_org,
                )
                for r in rows
            ]
        )
    )
