"""Message status: a state machine that refuses illegal transitions.

The statuses and which may follow which are the wire contract's
(:class:`wire.mailbox.MessageStatus`, :data:`wire.mailbox.TRANSITIONS`); here the hub's
refusal of any other change, and the reverse table its conditional SQL updates use.
"""

from __future__ import annotations

from coordinator.errors import IllegalTransition
from wire.mailbox import TRANSITIONS, MessageStatus

__all__ = ["TRANSITIONS", "MessageStatus", "sources_of", "transition"]


def transition(status: MessageStatus, new: MessageStatus) -> MessageStatus:
    """``new`` when the transition is allowed, else :class:`IllegalTransition`."""
    if not status.can_become(new):
        raise IllegalTransition(status.value, new.value)
    return new


def sources_of(new: MessageStatus) -> frozenset[MessageStatus]:
    """Every status from which ``new`` may be reached (for conditional SQL updates)."""
    return frozenset(s for s, targets in TRANSITIONS.items() if new in targets)
