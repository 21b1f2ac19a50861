"""``messages`` and ``wire`` are pure: importing all of either loads no server, database or
terminal UI (``wire`` may use aiohttp's client, not its server)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import importlib, pkgutil, sys
import messages
for info in pkgutil.walk_packages(messages.__path__, "messages."):
    importlib.import_module(info.name)
heavy = {"textual", "sqlalchemy", "sqlmodel", "asyncpg", "aiohttp"}
bad = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
print(",".join(bad))
"""


def test_messages_loads_no_server_database_or_ui() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"messages pulled in: {done.stdout.strip()}"


WIRE_PROBE = """
import importlib, pkgutil, sys
import wire
for info in pkgutil.walk_packages(wire.__path__, "wire."):
    importlib.import_module(info.name)
heavy = {"textual", "sqlalchemy", "sqlmodel", "asyncpg", "coordinator", "adapters", "tui"}
bad = sorted(m for m in sys.modules if m.split(".")[0] in heavy or m.startswith("aiohttp.web"))
print(",".join(bad))
"""


def test_wire_loads_no_server_database_or_ui() -> None:
    """The hub's client may use aiohttp's client, never its server."""
    done = subprocess.run(
        [sys.executable, "-c", WIRE_PROBE], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "", f"wire pulled in: {done.stdout.strip()}"
