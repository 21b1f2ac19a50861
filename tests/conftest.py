"""Suite-wide fixtures and rules.

* Environment isolation: every ``SAMSPIL_*`` variable except the PostgreSQL test URL is
  removed for each test, so a developer's shell cannot change what a test sees.
* PostgreSQL: tests marked ``postgres`` use the server named by ``SAMSPIL_TEST_POSTGRES_URL``.
  Without it they are skipped; **with it, a skipped PostgreSQL test fails the run** (CI sets it,
  so the PostgreSQL half of the suite can never silently stop running).
"""

from __future__ import annotations

import os

import pytest

POSTGRES_ENV = "SAMSPIL_TEST_POSTGRES_URL"
_skipped_postgres: list[str] = []


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SAMSPIL_") and name != POSTGRES_ENV:
            monkeypatch.delenv(name)


@pytest.fixture
def postgres_url() -> str:
    """The PostgreSQL server for tests marked ``postgres`` (skips when none is configured)."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server to test against")
    return url


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgres" in report.keywords:
        _skipped_postgres.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get(POSTGRES_ENV) and _skipped_postgres:
        names = "\n  ".join(_skipped_postgres[:20])
        print(  # noqa: T201 - the run's verdict belongs on the terminal
            f"\nFAILED: {len(_skipped_postgres)} PostgreSQL test(s) were skipped although "
            f"{POSTGRES_ENV} is set:\n  {names}"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
