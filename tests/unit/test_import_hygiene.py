"""``messages`` is pure: importing all of it loads no server, database or terminal UI."""

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
