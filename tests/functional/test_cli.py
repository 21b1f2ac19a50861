"""``samspil org add|list``, ``samspil user add`` and ``samspil serve`` as processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from coordinator.database.engine import migrate, normalise_url
from coordinator.tables import METADATA
from tests.commands import free_port
from tests.commands import samspil as run_samspil
from tests.functional.conftest import FAMILY_GLN, GP_GLN, PPR_GLN


def samspil(
    *args: str, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``samspil ARGS``, which must succeed unless ``check`` is False."""
    return run_samspil(*args, env=env, check=check)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMSPIL_")}
    env["SAMSPIL_DATA_DIR"] = str(tmp_path)
    return env


def test_org_and_user_commands(cli_env: dict[str, str]) -> None:
    added = samspil(
        "org",
        "add",
        "--gln",
        PPR_GLN,
        "--name",
        "PPR Brønderslev",
        "--sector",
        "ppr",
        "--municipality",
        "810",
        env=cli_env,
    )
    token = added.stdout.strip()
    assert added.stdout == token + "\n"  # only the token on stdout
    assert token.startswith("smp_")
    assert len(token) > 40
    samspil(
        "org", "add", "--gln", GP_GLN, "--name", "Lægehuset", "--sector", "gp",
        "--format", "fhir", env=cli_env,
    )  # fmt: skip
    samspil(
        "org", "add", "--gln", FAMILY_GLN, "--name", "Familieafdelingen", "--sector", "family",
        "--letters-consumed-by", "people", env=cli_env,
    )  # fmt: skip
    listing = samspil("org", "list", env=cli_env).stdout
    assert re.search(rf"^{GP_GLN}  gp +fhir ", listing, re.M), listing
    assert re.search(rf"^{PPR_GLN}  ppr +oioxml ", listing, re.M), listing
    assert re.search(rf"^{FAMILY_GLN}  family +oioxml ", listing, re.M), listing
    assert PPR_GLN in listing
    assert "PPR Brønderslev" in listing
    assert GP_GLN in listing
    assert token not in listing
    owners = {line.split()[0]: line.split()[5] for line in listing.splitlines()}
    assert owners == {PPR_GLN: "system", GP_GLN: "system", FAMILY_GLN: "people"}
    switched = samspil("org", "letters", "--gln", PPR_GLN, "--consumed-by", "people", env=cli_env)
    assert f"{PPR_GLN}: letters consumed by people" in switched.stderr
    again_same = samspil("org", "letters", "--gln", PPR_GLN, "--consumed-by", "people", env=cli_env)
    assert "(unchanged)" in again_same.stderr
    listing = samspil("org", "list", env=cli_env).stdout
    assert {line.split()[0]: line.split()[5] for line in listing.splitlines()}[PPR_GLN] == "people"
    user = samspil(
        "user", "add", "--org", PPR_GLN, "--name", "Sara", "--role", "caseworker", env=cli_env
    )
    assert user.stdout.strip().startswith("smp_")
    again = samspil(
        "org", "add", "--gln", PPR_GLN, "--name", "x", "--sector", "ppr", env=cli_env, check=False
    )
    assert again.returncode == 2
    assert again.stdout == ""
    assert "organisation-exists" in again.stderr
    bad = samspil(
        "org", "add", "--gln", "123", "--name", "x", "--sector", "gp", env=cli_env, check=False
    )
    assert bad.returncode == 2
    assert "invalid-gln" in bad.stderr
    for code in ("８１０", "²³⁴"):  # str.isdigit() takes them; they are no municipality code
        odd = samspil(
            "org", "add", "--gln", GP_GLN, "--name", "x", "--sector", "gp",
            "--municipality", code, env=cli_env, check=False,
        )  # fmt: skip
        assert odd.returncode == 2
        assert "invalid-municipality" in odd.stderr
    missing = samspil(
        "user",
        "add",
        "--org",
        "5790000000005",
        "--name",
        "x",
        "--role",
        "admin",
        env=cli_env,
        check=False,
    )
    assert missing.returncode == 2
    assert "not-found" in missing.stderr


def test_serve_shuts_down_gracefully(cli_env: dict[str, str]) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "samspil", "serve", "--port", str(port)],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    summary = [line for line in stderr.splitlines() if "Samspil hub stopped" in line]
    assert len(summary) == 1, stderr
    assert "Traceback" not in stderr


async def test_migrations_match_the_models(hub_db: str) -> None:
    """The Alembic schema and the SQLModel tables agree (nothing left to autogenerate)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_async_engine(normalise_url(hub_db))
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), METADATA
                )
            )
    finally:
        await engine.dispose()
    assert diff == []
