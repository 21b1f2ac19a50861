"""API fuzzing: schemathesis against ``/v1/openapi.json`` on a live hub with valid tokens.

A real hub (the app factory on a real port, SQLite in a temporary folder) gets a GP, a PPR
and an administrator; letters are sent so inboxes are not empty. Then schemathesis runs
every phase (examples, coverage, fuzzing, stateful) with every check except
``positive_data_acceptance`` — twice: with the administrator's token (mailboxes and
operator endpoints) and with the GP's system token naming a person (the index). A run
passes with **zero** 5xx answers and **zero** answers the OpenAPI document does not allow
(status, content type, headers, body schema, undeclared methods, ignored auth...).

``positive_data_acceptance`` is left out on purpose: it expects every schema-valid request
to succeed, while the hub rightly refuses what a JSON schema cannot say — a GLN with a wrong
GS1 check digit, XML that is not a MedCom letter — with a documented 400/422. The hub runs
with ``max_wait=1`` so a generated long-poll does not hold a worker for a minute (a longer
``wait`` is a documented 400 there), and with the per-credential and failed-login limits
off, since schemathesis sends far more requests, and more bad tokens, than any client.

``make fuzz`` runs this for ``FUZZ_MINUTES`` (default 5); the suite runs a short pass
(``tests/functional/test_api_fuzz.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from coordinator.app import create_app
from coordinator.security.credentials import add_user, local_actor
from coordinator.settings import Settings
from coordinator.state import ENGINE
from coordinator.tables import Role
from messages.identifiers import gln_check_digit
from tests.functional.served import served

CHECKS = ["--checks", "all", "--exclude-checks", "positive_data_acceptance"]


def _gln(n: int) -> str:
    first12 = f"579{n:09d}"
    return first12 + str(gln_check_digit(first12))


GP, PPR = _gln(1001), _gln(2001)


@dataclass(frozen=True)
class Pass:
    name: str
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _letter(n: int) -> bytes:
    from tests.functional.samples import xdis91

    return xdis91(sender=GP, receiver=PPR, letter_id=f"FUZZ{n:010d}")


async def _schemathesis(
    name: str, url: str, headers: list[str], seconds: float, report_dir: Path, seed: int | None
) -> Pass:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        url + "/v1/openapi.json",
        *CHECKS,
        "--max-time",
        str(max(1, int(seconds))),
        "--request-timeout",
        "15",
        "--workers",  # one: hypothesis' lambda descriptions are not thread-safe on 3.11
        "1",
        "--report",
        "ndjson",
        "--report-dir",
        str(report_dir / name),
    ]
    for header in headers:
        command += ["-H", header]
    if seed is not None:
        command += ["--seed", str(seed)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMSPIL_")}
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=report_dir,
    )
    out, _ = await process.communicate()
    return Pass(name, process.returncode or 0, out.decode(errors="replace"))


async def fuzz(folder: Path, seconds_per_pass: float, seed: int | None = None) -> list[Pass]:
    """Start a hub in ``folder``, fuzz it twice for ``seconds_per_pass`` each; the passes."""
    settings = Settings(
        environment="test",
        data_dir=folder,
        database_url=f"sqlite+aiosqlite:///{folder / 'fuzz.sqlite'}",
        max_wait=1.0,
        rate_limit_per_second=0,
        login_failures_per_minute=1_000_000,
    ).check()
    app = create_app(settings)
    async with served(app, gp=GP, ppr=PPR) as hub:
        url, gp = hub.base, hub.gp
        admin = await add_user(
            actor=local_actor(), engine=app[ENGINE], org_gln=PPR, name="Fuzz", role=Role.ADMIN
        )
        import aiohttp

        async with aiohttp.ClientSession() as session:
            for n in range(5):
                async with session.post(
                    url + "/v1/messages",
                    data=_letter(n),
                    headers={"Authorization": f"Bearer {gp}", "Content-Type": "application/xml"},
                ) as response:
                    assert response.status == 202, await response.text()
        return [
            await _schemathesis(
                "admin", url, [f"Authorization: Bearer {admin}"], seconds_per_pass, folder, seed
            ),
            await _schemathesis(
                "gp-system",
                url,
                [f"Authorization: Bearer {gp}", "X-On-Behalf-Of: Fuzz Tester"],
                seconds_per_pass,
                folder,
                seed,
            ),
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description="Fuzz the hub's API with schemathesis.")
    parser.add_argument("--minutes", type=float, default=5.0, help="whole run (two passes)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--keep", type=Path, help="folder for the hub and the reports")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="samspil-fuzz-"))
    folder.mkdir(parents=True, exist_ok=True)
    passes = asyncio.run(fuzz(folder, args.minutes * 60 / 2, args.seed))
    for result in passes:
        print(result.output)  # noqa: T201 - the fuzz run reports on the terminal
        print(f"{result.name}: {'ok' if result.ok else 'FAILED'}")  # noqa: T201
    print(f"reports in {folder}")  # noqa: T201
    return 0 if all(p.ok for p in passes) else 1


if __name__ == "__main__":
    sys.exit(main())
