"""The error every client sees: ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """An error (RFC 9457) with a machine-readable ``code`` and a human sentence."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(
        description="MedCom refuse code "
        "(syntaksfejl, problem_med_version, ukendt_lokationsnummer, ...) "
        "or a hub code (unauthorized, sender-mismatch, not-found, ...)."
    )
    line: int | None = Field(default=None, description="Line of a message error.")
