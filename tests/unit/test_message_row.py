"""One builder makes a message row; the message types' groups come from the enum."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from coordinator.mailbox.status import MessageStatus
from coordinator.tables import MESSAGE, new_message_row
from messages.medcom.model import MessageType


def test_the_builder_fills_every_column_of_a_fresh_message() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    letter = uuid.uuid4()
    row = new_message_row(
        id=uuid.uuid4(),
        type=MessageType.XDIS91.value,
        sender_gln="5790000000001",
        receiver_gln="5790000000002",
        envelope_id="E1",
        letter_id="L1",
        body=b"<Emessage/>",
        received_at=now,
        resend_of=letter,
    )
    assert set(row) == {column.key for column in MESSAGE.columns}
    assert (row["status"], row["in_inbox"], row["size"]) == (MessageStatus.ACCEPTED, True, 11)
    assert (row["is_resend"], row["resend_of"], row["updated_at"]) == (True, letter, now)
    assert (row["receipt_id"], row["leased_until"], row["overdue"]) == (None, None, False)


def test_letters_and_receipts_split_the_types() -> None:
    assert MessageType.codes(receipts=True) == ("XCTL01", "XCTL02", "XCTL03")
    assert MessageType.codes(receipts=False) == ("XDIS91", "XBIN01")
    assert all(t.is_letter != t.is_receipt for t in MessageType)
