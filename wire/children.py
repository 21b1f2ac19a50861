"""The caller organisation's own children (``GET /v1/children``): its active cases grouped
by child, newest activity first, each with what the organisation already knows besides them.

Nothing here is another organisation's data the caller has not been told before: the
partner count counts the organisations the hub has told the caller of (the ``new-partner``
notices, both ways), never whether they still have a case; the unread letters are the
caller's own inbox.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from wire.entries import CaseKind, Contact

__all__ = ["MyChild", "MyChildren", "OwnCase"]


class OwnCase(BaseModel):
    """One of the caller's own active cases for the child."""

    ref: str
    kind: CaseKind
    opened_on: date
    title: str | None = None
    contact: Contact


class MyChild(BaseModel):
    """A child the caller's organisation has at least one active case for."""

    child_cpr: str
    activity_at: datetime = Field(
        description="The latest of: an update of one of the caller's active cases for the "
        "child, a letter about the child arriving in the caller's inbox (still there)."
    )
    cases: list[OwnCase] = Field(description="The caller's active cases, oldest first.")
    partners_told: int = Field(
        ge=0,
        description="How many other organisations the hub has told the caller of for this "
        "child: those whose joining the caller was told (new-partner notifications) and "
        "those named in the answer to the caller's own first active case (the hub told them "
        "in turn). Whether they still have an active case is not said: that would be their "
        "data, shown only by the overview under consent (and logged).",
    )
    unread_letters: int = Field(
        ge=0, description="Letters about the child in the caller's inbox not yet fetched."
    )


class MyChildren(BaseModel):
    """A page of the caller organisation's children, the most recent activity first (then
    by CPR number)."""

    children: list[MyChild]
    total: int = Field(ge=0, description="How many children the organisation has in all.")
    offset: int = Field(ge=0, description="Where this page starts in the whole list.")
