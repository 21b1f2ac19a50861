"""Naming an unexpected error in a log line without its message.

An exception's message can hold anything its raiser put there — a CPR number in a value
error, a letter's text in a parser error — and a traceback ends with that message. Adapter
logs name the exception's type and where it was raised instead: enough to find the bug,
nothing about the child.
"""

from __future__ import annotations

import os

__all__ = ["where"]


def where(exc: BaseException) -> str:
    """``TypeName at file.py:line in function`` for the innermost frame of ``exc``."""
    tb = exc.__traceback__
    if tb is None:
        return type(exc).__name__
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    return (
        f"{type(exc).__name__} at {os.path.basename(code.co_filename)}:{tb.tb_lineno}"
        f" in {code.co_name}"
    )
