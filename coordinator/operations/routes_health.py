"""Operations: liveness, readiness, Prometheus metrics, the operators' summary."""

from __future__ import annotations

from aiohttp import web

from coordinator.errors import StoreError
from coordinator.index.retention import retention_metrics
from coordinator.mailbox.retention import letter_retention_metrics
from coordinator.mailbox.status import MessageStatus
from coordinator.mailbox.store import ping, summary
from coordinator.operations.metrics import METRICS
from coordinator.operations.rates import index_rates
from coordinator.operations.store import processes
from coordinator.problems import problem
from coordinator.responses import json_response
from coordinator.security.auth import principal_of
from coordinator.sqltypes import utcnow
from coordinator.state import CLOCK, COMMITTER, ENGINE, NOTIFIER, SETTINGS
from coordinator.tables import Role
from wire.operator import HubProcess, MailboxCount, Probe, Summary

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response(Probe(status="ok"))


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    try:
        await ping(engine=request.app[ENGINE])
    except StoreError:
        return problem(503, "store-unavailable", "the database cannot be reached")
    return json_response(Probe(status="ready"))


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    app = request.app
    counts = await summary(engine=app[ENGINE])
    hubs = await processes(engine=app[ENGINE], now=utcnow())
    rates = await index_rates(engine=app[ENGINE], now=app[CLOCK](), settings=app[SETTINGS])
    stats = app[COMMITTER].stats
    extra = {
        "samspil_hub_processes": float(len(hubs.alive)),
        "samspil_hub_processes_stale": float(hubs.stale),
        "samspil_commits_total": float(stats.commits),
        "samspil_committed_writes_total": float(stats.writes),
        "samspil_commit_failures_total": float(stats.failures),
        "samspil_longpolls_waiting": float(app[NOTIFIER].waiting),
        **retention_metrics(app),
        **letter_retention_metrics(app),
    }
    return web.Response(
        text=app[METRICS].render(counts, extra, rates),
        content_type="text/plain",
        headers={"X-Content-Type-Options": "nosniff"},
        charset="utf-8",
    )


@routes.get("/v1/operator/summary")
async def operator_summary(request: web.Request) -> web.Response:
    principal_of(request).require(Role.OPERATOR, Role.ADMIN)
    app = request.app
    counts = await summary(engine=app[ENGINE])
    by_status: dict[str, int] = {s.value: 0 for s in MessageStatus}
    for status, _kind, n in counts.by_status_type:
        by_status[status] = by_status.get(status, 0) + n
    hubs = await processes(engine=app[ENGINE], now=utcnow())
    rates = await index_rates(engine=app[ENGINE], now=app[CLOCK](), settings=app[SETTINGS])
    return json_response(
        Summary(
            region=app[SETTINGS].region_name,
            by_status=by_status,
            organisations=[
                MailboxCount(gln=gln, inbox_depth=counts.inbox_depth.get(gln, 0), last_poll=at)
                for gln, at in sorted(counts.last_poll.items())
            ],
            overdue_receipts=counts.overdue,
            expired=counts.expired,
            errors=dict(sorted(app[METRICS].errors.items())),
            processes=[
                HubProcess(
                    host=p.host,
                    pid=p.pid,
                    version=p.version,
                    started_at=p.started_at,
                    seen_at=p.seen_at,
                )
                for p in hubs.alive
            ],
            stale_processes=hubs.stale,
            index_rates=[rate.wire() for rate in rates],
        )
    )
