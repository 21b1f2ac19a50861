"""The suite's promise to CI: with SAMSPIL_TEST_POSTGRES_URL set, a skipped PostgreSQL test
fails the run; without it, PostgreSQL tests skip quietly, summed up once by reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

SKIPPING_TEST = """
import pytest

@pytest.mark.postgres
def test_needs_postgres(postgres_url: str) -> None:
    pytest.skip("pretend the server could not be used")

def test_plain() -> None:
    assert True
"""


def _run(tmp_path: Path, env_url: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "test_sample.py").write_text(SKIPPING_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    postgres: needs PostgreSQL\n")
    env = {"PATH": "/usr/bin:/bin"}
    if env_url is not None:
        env["SAMSPIL_TEST_POSTGRES_URL"] = env_url
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_skipped_postgres_test_fails_the_run_when_postgres_is_configured(tmp_path: Path) -> None:
    done = _run(tmp_path, "postgresql://postgres@127.0.0.1:5432/test")
    assert done.returncode == 1, done.stdout
    assert "PostgreSQL test(s) were skipped" in done.stdout


def test_postgres_tests_skip_quietly_without_a_server(tmp_path: Path) -> None:
    done = _run(tmp_path, None)
    assert done.returncode == 0, done.stdout
    assert "1 passed, 1 skipped" in done.stdout
    # said once, with its reason, not per test
    assert done.stdout.count("skipped: 1 test(s) need PostgreSQL") == 1, done.stdout
    assert "SKIPPED [" not in done.stdout, done.stdout
