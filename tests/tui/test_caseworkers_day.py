"""A caseworker's day in a real terminal (tmux, 80×24) against ``samspil demo``: the session
``make tui-check`` runs (:mod:`tests.tui.tmux_session`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.tui.tmux_session import caseworkers_day

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (a real terminal)"),
    pytest.mark.timeout(300),
]


def test_a_caseworkers_day_in_a_real_terminal(tmp_path: Path) -> None:
    steps: list[str] = []
    caseworkers_day(tmp_path, say=steps.append)
    assert len(steps) == 8, steps  # every step of the day was seen on the screen
