"""Message status: a state machine that refuses illegal transitions.

::

    accepted ──► downloaded ──► acknowledged ──► receipted | rejected
        │  └──────────┴──────────────┘ (a receipt may come before the ack)
        └──► expired  (from accepted or downloaded: not acknowledged in time)

The statuses themselves are the wire contract's (:class:`wire.mailbox.MessageStatus`).
"""

from __future__ import annotations

from coordinator.errors import IllegalTransition
from wire.mailbox import MessageStatus

__all__ = ["TRANSITIONS", "MessageStatus", "can_become", "is_final", "sources_of", "transition"]

S = MessageStatus
TRANSITIONS: dict[MessageStatus, frozenset[MessageStatus]] = {
    S.ACCEPTED: frozenset({S.DOWNLOADED, S.ACKNOWLEDGED, S.RECEIPTED, S.REJECTED, S.EXPIRED}),
    S.DOWNLOADED: frozenset({S.ACKNOWLEDGED, S.RECEIPTED, S.REJECTED, S.EXPIRED}),
    S.ACKNOWLEDGED: frozenset({S.RECEIPTED, S.REJECTED}),
    S.RECEIPTED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}


def is_final(status: MessageStatus) -> bool:
    return not TRANSITIONS[status]


def can_become(status: MessageStatus, new: MessageStatus) -> bool:
    return new in TRANSITIONS[status]


def transition(status: MessageStatus, new: MessageStatus) -> MessageStatus:
    """``new`` when the transition is allowed, else :class:`IllegalTransition`."""
    if not can_become(status, new):
        raise IllegalTransition(status.value, new.value)
    return new


def sources_of(new: MessageStatus) -> frozenset[MessageStatus]:
    """Every status from which ``new`` may be reached (for conditional SQL updates)."""
    return frozenset(s for s, targets in TRANSITIONS.items() if new in targets)
