"""The README's screenshots, from the snapshots' fixed answers and clock.

``.venv/bin/python -m tests.tui.screenshots`` writes ``docs/caseworker.svg`` (the child
overview) and ``docs/monitor.svg`` (the operator monitor on a partner's queue) at 100×28.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.tui.conftest import CHILD, fixed_clock, fixed_hub
from tests.tui.fixed_answers import caseworker_routes, monitor_routes
from tests.tui.test_snapshots import SLOW, settle
from tui.base import HubApp
from tui.caseworker_app import CaseworkerApp
from tui.i18n import Texts
from tui.monitor_app import MonitorApp

DOCS = Path(__file__).resolve().parents[2] / "docs"
SIZE = (100, 28)


async def shoot(app: HubApp, keys: tuple[str, ...], title: str) -> str:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)
        return app.export_screenshot(title=title)


async def shots() -> dict[Path, str]:
    caseworker = CaseworkerApp(
        fixed_hub(caseworker_routes()), texts=Texts("da"), clock=fixed_clock, refresh_seconds=SLOW
    )
    child = await shoot(caseworker, ("slash", *CHILD, "enter"), "samspil tui")
    monitor = MonitorApp(
        fixed_hub(monitor_routes()), texts=Texts("da"), clock=fixed_clock, refresh_seconds=SLOW
    )
    queue = await shoot(monitor, ("down", "down"), "samspil monitor")
    return {DOCS / "caseworker.svg": child, DOCS / "monitor.svg": queue}


if __name__ == "__main__":
    for path, svg in asyncio.run(shots()).items():
        path.write_text(svg, encoding="utf-8")
