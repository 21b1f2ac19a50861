"""``samspil demo`` runs end to end on a fresh machine: a real hub, real HTTP, real SQLite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_exchanges_letters_and_receipts(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "samspil", "demo", "--rounds", "2", "--port", "0", "--exit"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("accepted (202)") == 2
    assert out.count("same id: True") == 2
    assert out.count("→ receipted") == 2
    assert "Traceback" not in done.stderr
    tokens = tmp_path / "var" / "demo" / "tokens.txt"
    assert tokens.stat().st_mode & 0o077 == 0  # tokens are for the user alone
    for line in tokens.read_text().splitlines():
        assert line.split("\t")[1] not in out + done.stderr  # never printed
    assert "1203164321" not in out + done.stderr
