"""The screens see their app only through :mod:`tui.screens.base`: each app is what its
screens' Protocol describes (mypy checks the assignments below, the test checks the names),
and a room mixed in before its Textual screen is refused, since the screen would lose
Textual's styles. That no screen imports an app module is an import-linter contract."""

from __future__ import annotations

from typing import Any

import pytest
from textual.screen import ModalScreen, Screen

from tests.tui.conftest import fixed_hub
from tui.caseworker_app import CaseworkerApp
from tui.monitor_app import MonitorApp
from tui.screens.base import Caseworker, CaseworkerRoom, Monitor, MonitorRoom, ScreenHost


def members(protocol: type) -> set[str]:
    """The names ``protocol`` asks for, its own and those of the protocols it extends."""
    return {
        name
        for cls in protocol.__mro__
        if cls.__module__ == "tui.screens.base"
        for name in vars(cls)
        if not name.startswith("_")
    }


def test_the_caseworker_app_is_what_its_screens_see() -> None:
    app: Caseworker = CaseworkerApp(fixed_hub({}))
    wanted = members(Caseworker)
    assert {"client", "texts", "now", "local", "directory", "registry"} <= wanted
    assert not {name for name in wanted if not hasattr(app, name)}


def test_the_monitor_is_what_its_screens_see() -> None:
    app: Monitor = MonitorApp(fixed_hub({}))
    wanted = members(Monitor)
    assert {"client", "texts", "now", "stale_after"} <= wanted
    assert not {name for name in wanted if not hasattr(app, name)}


def test_both_apps_give_what_every_screen_needs() -> None:
    apps: list[ScreenHost] = [CaseworkerApp(fixed_hub({})), MonitorApp(fixed_hub({}))]
    for app in apps:
        assert not {name for name in members(ScreenHost) if not hasattr(app, name)}


@pytest.mark.parametrize("room", [CaseworkerRoom, MonitorRoom])
@pytest.mark.parametrize("screen", [Screen[None], ModalScreen[None]])
def test_a_room_comes_after_its_textual_screen(room: type, screen: Any) -> None:
    class Right(screen, room):  # type: ignore[misc]
        pass

    assert issubclass(Right, Screen)
    assert "Screen" in Right._css_type_names  # Textual's styles still reach it
    with pytest.raises(TypeError, match="the Textual screen comes first"):

        class Wrong(room, screen):  # type: ignore[misc]
            pass
