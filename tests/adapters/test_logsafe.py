"""Unexpected errors are logged by type and place, never by message."""

from __future__ import annotations

from adapters.logsafe import where


def _fails() -> None:
    raise ValueError("child 1203164321 has no case")


def test_where_names_type_and_place_but_not_the_message() -> None:
    try:
        _fails()
    except ValueError as exc:
        named = where(exc)
    assert named.startswith("ValueError at test_logsafe.py:")
    assert named.endswith(" in _fails")
    assert "1203164321" not in named


def test_where_without_a_traceback() -> None:
    assert where(KeyError("1203164321")) == "KeyError"
