"""The stolen-token signal: an organisation whose day is far above its usual.

A stolen system or caseworker token is used for what it opens: registering a case for a
child (which tells the child's other organisations that the token's organisation joined, and
names them in the answer) and attesting a consent (which opens their entries). Per
organisation, the hub counts both per UTC day (:func:`coordinator.operations.store.
daily_index_counts`); a count today above ``Settings.rate_alert_multiple`` times the usual day
(the mean of the 14 days before) and at least ``Settings.rate_alert_minimum`` is flagged in
the operators' summary, on ``/metrics`` and in the operator monitor. The floor keeps a quiet
organisation's busy day (3 against a usual 1) from crying wolf; an organisation's first days
at the hub, when its system loads its caseload, are flagged too, and an operator who knows
that moves on.

"Today" is the hub's clock (``coordinator.state.CLOCK``), so tests set the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from coordinator.operations.store import DailyCounts, daily_index_counts
from coordinator.settings import Settings
from wire.operator import IndexRate, RateKind

__all__ = ["Rate", "RateRule", "index_rates"]


@dataclass(frozen=True, slots=True)
class RateRule:
    """When a day is flagged: above ``multiple`` times the usual day, and at least
    ``minimum``."""

    multiple: float
    minimum: int

    @classmethod
    def of(cls, settings: Settings) -> RateRule:
        return cls(settings.rate_alert_multiple, settings.rate_alert_minimum)

    def flags(self, today: int, usual: float) -> bool:
        return today >= self.minimum and today > self.multiple * usual


@dataclass(frozen=True, slots=True)
class Rate:
    """One organisation's count today of one kind, its usual day, and whether it is flagged."""

    organisation: str
    name: str
    kind: RateKind
    today: int
    usual: float
    flagged: bool

    def wire(self) -> IndexRate:
        return IndexRate(
            organisation=self.organisation,
            name=self.name,
            kind=self.kind,
            today=self.today,
            usual=self.usual,
            flagged=self.flagged,
        )


def judge(counts: list[DailyCounts], rule: RateRule) -> list[Rate]:
    """Each organisation's today against the mean of the days before it."""
    rates = []
    for c in counts:
        *before, today = c.days
        usual = sum(before) / len(before)
        flagged = rule.flags(today, usual)
        rates.append(Rate(c.organisation, c.name, c.kind, today, round(usual, 2), flagged))
    return rates


async def index_rates(*, engine: AsyncEngine, now: datetime, settings: Settings) -> list[Rate]:
    """Today's rates (the UTC day of ``now``) for every organisation with any in the counted
    days, judged by the settings' rule."""
    counts = await daily_index_counts(engine=engine, today=now.astimezone(UTC).date())
    return judge(counts, RateRule.of(settings))
