"""Suite-wide fixtures and rules.

* Environment isolation: every ``SAMSPIL_*`` variable except the PostgreSQL test URL is
  removed for each test, so a developer's shell cannot change what a test sees.
* PostgreSQL: tests marked ``postgres`` use the server named by ``SAMSPIL_TEST_POSTGRES_URL``;
  ``hub_db`` gives a test the hub's database on both engines (a SQLite file, and a fresh
  PostgreSQL database created on that server and dropped after).
  Without it they are skipped; **with it, a skipped PostgreSQL test fails the run** (CI sets it,
  so the PostgreSQL half of the suite can never silently stop running).
* Skips are summed up once at the end, by reason: how many need PostgreSQL, how many need
  MedCom's reference files in ``../shared/medcom``, and any other reason.
* The log guard (:mod:`tests.logguard`): any CPR number, token or letter text in any log
  record of the run fails the run.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests import logguard
from tests.databases import drop_database, new_database

POSTGRES_ENV = "SAMSPIL_TEST_POSTGRES_URL"
_skipped_postgres: list[str] = []
_skipped_by_reason: dict[str, int] = {}


def pytest_configure(config: pytest.Config) -> None:
    logguard.install()


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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def hub_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL for one test: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}"
        return
    server = request.getfixturevalue("postgres_url")
    name, url = await new_database(server)
    try:
        yield url
    finally:
        await drop_database(server, name)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.skipped:
        return
    if "postgres" in report.keywords:
        _skipped_postgres.append(report.nodeid)
        reason = f"need PostgreSQL ({POSTGRES_ENV} is not set)"
    elif "official" in report.keywords:
        reason = "need MedCom's reference files in ../shared/medcom (not found)"
    else:
        longrepr = report.longrepr
        reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    _skipped_by_reason[reason] = _skipped_by_reason.get(reason, 0) + 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for reason, count in sorted(_skipped_by_reason.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"skipped: {count} test(s) {reason}")
    found = logguard.verdict()
    if found:
        terminalreporter.write_line(
            "FAILED: secrets in the log (CPR numbers, tokens or letter text):", red=True
        )
        for line in found:
            terminalreporter.write_line(f"  {line}", red=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if logguard.verdict():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if os.environ.get(POSTGRES_ENV) and _skipped_postgres:
        names = "\n  ".join(_skipped_postgres[:20])
        print(  # noqa: T201 - the run's verdict belongs on the terminal
            f"\nFAILED: {len(_skipped_postgres)} PostgreSQL test(s) were skipped although "
            f"{POSTGRES_ENV} is set:\n  {names}"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
