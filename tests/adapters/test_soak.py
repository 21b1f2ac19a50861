"""The soak's short version: ``bench/soak.py`` for half a minute (``make soak`` runs ten).

The simulated region at half its measured maximum; passes when no error occurred and
resident memory grew less than 10 % after the warm-up.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


def test_a_short_soak_passes(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--seconds",
            "30",
            "--probe",
            "5",
            "--report-every",
            "10",
            "--warmup",
            "0.3",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert lines[-1] == "soak: PASS"
    assert any(line.startswith("soak: maximum ") for line in lines)
    reports = [line for line in lines if line.startswith("t=")]
    assert len(reports) >= 2
    assert all("errors 0" in line for line in reports)


async def test_sqlite_page_caches_are_bounded(tmp_path: Path) -> None:
    """The soak's steady growth was SQLite's page caches (2 MiB a connection by default)
    filling as the files grew; the hub's and the adapters' connections set their own."""
    from sqlalchemy import text

    from adapters.localdb import CACHE_KIB, LocalDb
    from coordinator.database.engine import SQLITE_CACHE_KIB, create_engine

    db = await LocalDb(tmp_path / "adapter.sqlite").open()
    try:
        size = await db.run(lambda conn: conn.execute("PRAGMA cache_size").fetchone()[0])
    finally:
        await db.close()
    assert size == -CACHE_KIB
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}")
    try:
        async with engine.connect() as conn:
            hub_size = (await conn.execute(text("PRAGMA cache_size"))).scalar_one()
    finally:
        await engine.dispose()
    assert hub_size == -SQLITE_CACHE_KIB
