"""Prometheus text exposition: request latency histograms and counters kept in-process,
message counts and inbox depths read from the store at scrape time."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from coordinator.mailbox.store import Summary
from coordinator.operations.rates import Rate
from coordinator.problems import PROBLEM_CODE, Handler

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(slots=True)
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0
    n: int = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds
        self.n += 1


class Metrics:
    """What this process has seen since it started."""

    def __init__(self) -> None:
        self.latency: defaultdict[tuple[str, str], _Histogram] = defaultdict(_Histogram)
        self.responses: defaultdict[tuple[str, str, int], int] = defaultdict(int)
        self.errors: defaultdict[str, int] = defaultdict(int)  # problem code -> count
        self.started = time.time()

    def render(self, summary: Summary, extra: dict[str, float], rates: Sequence[Rate] = ()) -> str:
        out: list[str] = []
        out.append("# HELP samspil_messages Messages in the store by status and type.")
        out.append("# TYPE samspil_messages gauge")
        for status, kind, n in sorted(summary.by_status_type):
            out.append(f'samspil_messages{{status="{status}",type="{kind}"}} {n}')
        out.append("# HELP samspil_inbox_depth Unacknowledged messages per organisation.")
        out.append("# TYPE samspil_inbox_depth gauge")
        for gln in sorted(summary.last_poll):
            out.append(
                f'samspil_inbox_depth{{organisation="{gln}"}} {summary.inbox_depth.get(gln, 0)}'
            )
        out.append("# HELP samspil_overdue_receipts Letters whose positive receipt is overdue.")
        out.append("# TYPE samspil_overdue_receipts gauge")
        out.append(f"samspil_overdue_receipts {summary.overdue}")
        out.append("# HELP samspil_http_request_duration_seconds Request latency by route.")
        out.append("# TYPE samspil_http_request_duration_seconds histogram")
        for (method, route), h in sorted(self.latency.items()):
            labels = f'method="{method}",route="{route}"'
            running = 0
            for bound, count in zip(BUCKETS, h.counts, strict=False):
                running += count
                out.append(
                    f'samspil_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} '
                    f"{running}"
                )
            out.append(f'samspil_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {h.n}')
            out.append(f"samspil_http_request_duration_seconds_sum{{{labels}}} {h.total:.6f}")
            out.append(f"samspil_http_request_duration_seconds_count{{{labels}}} {h.n}")
        out.append("# HELP samspil_http_responses_total Responses by route and status.")
        out.append("# TYPE samspil_http_responses_total counter")
        for (method, route, http_status), n in sorted(self.responses.items()):
            out.append(
                f'samspil_http_responses_total{{method="{method}",route="{route}",'
                f'status="{http_status}"}} {n}'
            )
        out.append("# HELP samspil_problems_total Error responses by problem code.")
        out.append("# TYPE samspil_problems_total counter")
        for code, n in sorted(self.errors.items()):
            out.append(f'samspil_problems_total{{code="{code}"}} {n}')
        out.extend(_rate_lines(rates))
        for name, value in sorted(extra.items()):
            out.append(f"# TYPE {name} gauge")
            out.append(f"{name} {value}")
        return "\n".join(out) + "\n"


_RATE_METRICS: tuple[tuple[str, str, Callable[[Rate], str]], ...] = (
    (
        "samspil_index_rate_today",
        "Today's count (a UTC day) per organisation and kind: new-children registered "
        "(children it had no case for), attested-consents recorded.",
        lambda r: str(r.today),
    ),
    (
        "samspil_index_rate_usual",
        "The mean per day over the 14 days before today.",
        lambda r: f"{r.usual:g}",
    ),
    (
        "samspil_index_rate_flagged",
        "1 when today is far above the usual day (the stolen-token signal).",
        lambda r: "1" if r.flagged else "0",
    ),
)


def _rate_lines(rates: Sequence[Rate]) -> list[str]:
    """The index's counts today per organisation and kind, the usual day, and the flag."""
    out: list[str] = []
    for metric, help_text, value in _RATE_METRICS:
        out.append(f"# HELP {metric} {help_text}")
        out.append(f"# TYPE {metric} gauge")
        for r in rates:
            labels = f'organisation="{r.organisation}",kind="{r.kind.value}"'
            out.append(f"{metric}{{{labels}}} {value(r)}")
    return out


METRICS = web.AppKey("metrics", Metrics)


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    response = await handler(request)
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "(unmatched)"
    metrics = request.app[METRICS]
    metrics.latency[(request.method, route)].observe(time.perf_counter() - started)
    metrics.responses[(request.method, route, response.status)] += 1
    if response.status >= 400 and response.content_type == "application/problem+json":
        code = response.get(PROBLEM_CODE)
        metrics.errors[str(code or response.status)] += 1
    return response
