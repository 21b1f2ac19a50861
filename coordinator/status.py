"""Message status: a state machine that refuses illegal transitions.

::

    accepted ──► downloaded ──► acknowledged ──► receipted | rejected
        │  └──────────┴──────────────┘ (a receipt may come before the ack)
        └──► expired  (from accepted or downloaded: not acknowledged in time)
"""

from __future__ import annotations

from enum import StrEnum

from coordinator.errors import IllegalTransition


class MessageStatus(StrEnum):
    ACCEPTED = "accepted"
    DOWNLOADED = "downloaded"
    ACKNOWLEDGED = "acknowledged"
    RECEIPTED = "receipted"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        return not TRANSITIONS[self]

    def can_become(self, new: MessageStatus) -> bool:
        return new in TRANSITIONS[self]

    def to(self, new: MessageStatus) -> MessageStatus:
        """``new`` when the transition is allowed, else :class:`IllegalTransition`."""
        if not self.can_become(new):
            raise IllegalTransition(self.value, new.value)
        return new


S = MessageStatus
TRANSITIONS: dict[MessageStatus, frozenset[MessageStatus]] = {
    S.ACCEPTED: frozenset({S.DOWNLOADED, S.ACKNOWLEDGED, S.RECEIPTED, S.REJECTED, S.EXPIRED}),
    S.DOWNLOADED: frozenset({S.ACKNOWLEDGED, S.RECEIPTED, S.REJECTED, S.EXPIRED}),
    S.ACKNOWLEDGED: frozenset({S.RECEIPTED, S.REJECTED}),
    S.RECEIPTED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}


def sources_of(new: MessageStatus) -> frozenset[MessageStatus]:
    """Every status from which ``new`` may be reached (for conditional SQL updates)."""
    return frozenset(s for s, targets in TRANSITIONS.items() if new in targets)
