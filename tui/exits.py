"""How ``samspil tui`` and ``samspil monitor`` end: the exit status says what happened.

The numbers follow BSD's ``sysexits.h`` where one fits, so a script or a service manager can
tell the cases apart (and 2 stays the command line's own: a missing token, a bad option).
:func:`fault_line` is the one line said about an internal error: its kind and where, never
its text.
"""

from __future__ import annotations

import traceback
from enum import IntEnum
from pathlib import Path

__all__ = ["ExitStatus", "fault_line"]


class ExitStatus(IntEnum):
    """What an app's exit status means."""

    QUIT = 0
    """The person quit (``q``, ``ctrl+q``)."""

    HUB_UNREACHABLE = 69
    """``EX_UNAVAILABLE``: quit before the hub had answered once since the app started."""

    INTERNAL_ERROR = 70
    """``EX_SOFTWARE``: a fault in the app itself; a one-line reason on stderr."""

    SESSION_ENDED = 77
    """``EX_NOPERM``: the hub refused the token and no new one was given."""


_ROOT = Path(__file__).resolve().parents[1]  # where tui/, wire/ and messages/ live
_OURS = tuple(_ROOT / package for package in ("tui", "wire", "messages"))


def fault_line(error: BaseException) -> str:
    """``KeyError in tui/screens/child.py:173``: the kind of ``error`` and where it was raised
    — the innermost frame in the apps' own code (``tui``, ``wire``, ``messages``), else the
    innermost of all. Never the error's text or ``repr``: those may quote a CPR number, a
    header or a body."""
    frames = traceback.extract_tb(error.__traceback__)
    kind = type(error).__name__
    if not frames:
        return kind
    ours = [frame for frame in frames if _ours(frame.filename) is not None]
    frame = (ours or frames)[-1]
    where = _ours(frame.filename) or Path(frame.filename).name
    return f"{kind} in {where}:{frame.lineno}"


def _ours(filename: str) -> str | None:
    """``tui/screens/child.py`` for a module of the apps' own, else None."""
    path = Path(filename).resolve()
    if any(path.is_relative_to(package) for package in _OURS):
        return path.relative_to(_ROOT).as_posix()
    return None
