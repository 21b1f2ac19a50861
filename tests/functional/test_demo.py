"""``samspil demo`` runs end to end on a fresh machine: a real hub on real SQLite, the
simulated pilot region with its real adapters, a progress line, and the way to the TUI."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

from adapters.simulation.region import children
from wire.client import HubClient


def _demo(
    folder: Path, children: int, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``samspil demo --exit`` run in ``folder``; it must end well."""
    done = subprocess.run(
        [sys.executable, "-m", "samspil", "demo", "--children", str(children), "--speed", "30",
         "--port", "0", "--exit"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def test_demo_runs_the_simulated_region(tmp_path: Path) -> None:
    done = _demo(tmp_path, 4)
    out = done.stdout
    assert "Samspil hub on embedded SQLite at http://127.0.0.1:" in out
    assert "26 organisations" in out
    assert re.search(r"Done: 4 of 4 pathways played out \(\d of them go on, their cases active\); "
                     r"4 referrals, 4 arrived as letters", out)  # fmt: skip
    assert " 0 refused, 0 still queued." in out
    assert "| hub ok" in out
    assert re.search(r"\| consents \d+ verified, \d+ attested \(\d+ revoked\) \|", out)
    # the other doors at work: the clinics' HL7 queries, psychiatry's FHIR reads, the
    # municipal case systems' partner events
    assert re.search(r"\| queries 4 \(\d+ with partners\) \| FHIR reads \d+ \| "
                     r"partner events \d+ \|", out)  # fmt: skip
    assert re.search(
        r"^Consents: \d+ verified \(signed at the consent service\), \d+ attested", out, re.M
    )
    stolen = re.search(r"^Late in the run a stolen token of (.+) registered 18 children", out, re.M)
    assert stolen, out
    # what the hub's operators' summary flags, for the stolen token's clinic and no other
    flagged = re.findall(r"^The monitor flagged (.+) \(\d{13}\): (\d+) new children today "
                         r"against a usual 0; (\d+) attested consents today against a usual 0 ",
                         out, re.M)  # fmt: skip
    assert len(flagged) == 1, out
    clinic, children_today, consents_today = flagged[0]
    assert clinic == stolen.group(1)
    assert int(children_today) >= 18
    assert int(consents_today) >= 18
    # the command as it can be pasted: .venv/bin/samspil where samspil is not on PATH
    tui = (r"^Caseworker TUI \(PPR Aalborg\): \S*samspil tui --hub http://127\.0\.0\.1:\d+ "
           r"--token-file \S+/var/demo/caseworkers/ppr-01300\.token$")  # fmt: skip
    assert re.search(tui, out, re.M)
    assert "--token " not in out  # a token on a command line is seen in ps and the history
    assert "was taken" not in out  # port 0: any free one
    assert "Consent service (signs consent documents" in out
    keys = tmp_path / "var" / "demo" / "consent-service" / "keys.json"
    assert keys.stat().st_mode & 0o777 == 0o600  # the consent service's private keys
    assert "Traceback" not in done.stderr
    tokens = tmp_path / "var" / "demo" / "tokens.txt"
    assert tokens.stat().st_mode & 0o077 == 0  # tokens are for the user alone
    for line in tokens.read_text().splitlines():
        assert line.split("\t")[1] not in out + done.stderr  # never printed
    for child in children(4, 2026, today=date.today()):  # the hub stops: none to look up
        assert child.cpr not in out + done.stderr


async def _look_up(hub: str, token: str, cpr: str) -> tuple[str, dict[str, object]]:
    """As the caseworker of ``token``: their organisation's name, and the child's overview
    (an active case of theirs for the child, or a 403 ``no-active-case``)."""
    async with HubClient(hub, token) as caseworker:
        me = await caseworker.whoami()
        return me["organisation"]["name"], await caseworker.overview(cpr)


def _hear_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_a_demo_that_keeps_running_names_children_to_look_up_on_the_next_free_port(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:  # someone else listens on the port asked for
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with (tmp_path / "stderr").open("w") as stderr:
            demo = subprocess.Popen(
                [sys.executable, "-m", "samspil", "demo", "--children", "6", "--speed", "30",
                 "--port", str(port), "--keep-running"],
                cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr, text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},  # each line as it is printed
                # a test run started in the background inherits an ignored Ctrl-C: the demo
                # must hear it as a person's terminal would send it
                preexec_fn=_hear_ctrl_c,
            )  # fmt: skip
            # a demo that never gets as far as keeping its hub running is stopped, so the
            # test fails instead of waiting for ever
            watchdog = threading.Timer(600, demo.kill)
            watchdog.start()
            try:
                assert demo.stdout is not None
                lines = []
                for line in demo.stdout:  # until the hub is said to keep running
                    lines.append(line)
                    if "Ctrl-C stops it" in line:
                        break
                out = "".join(lines)
                # the demo goes on printing its progress: keep reading, so it never blocks
                # on a full pipe (and then could not hear Ctrl-C)
                rest = threading.Thread(target=demo.stdout.read, daemon=True)
                rest.start()
                url = re.search(r"^Samspil hub on embedded SQLite at (\S+)", out, re.M)
                assert url, out
                assert int(url.group(1).rsplit(":", 1)[1]) > port
                assert f"Port {port} was taken: the hub listens on the next free one, " \
                       f"{url.group(1)}\n" in out  # fmt: skip
                assert f"The hub keeps running at {url.group(1)}" in out
                open_now = re.search(r"(\d+) children's cases are still active", out)
                assert open_now, out
                named = re.findall(r"^  (\d{10})  (.+):  \S*samspil tui --hub (\S+) --token-file "
                                   r"(\S+)$", out, re.M)  # fmt: skip
                assert 1 <= len(named) <= min(3, int(open_now.group(1)))
                kids = {c.cpr for c in children(6, 2026, today=date.today())}
                for cpr, org, hub, token_file in named:
                    assert cpr in kids  # the simulation's own fictitious children
                    assert hub == url.group(1)
                    token = Path(token_file).read_text().strip()
                    assert token not in out
                    whose, overview = asyncio.run(_look_up(hub, token, cpr))
                    assert whose == org
                    assert overview  # an active case: no 403
            finally:
                watchdog.cancel()
                demo.send_signal(signal.SIGINT)
                try:
                    status = demo.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    demo.kill()
                    demo.wait()
                    raise
                finally:
                    if demo.stdout is not None:
                        demo.stdout.close()
    assert status == 0
    assert "Traceback" not in (tmp_path / "stderr").read_text()


def test_the_printed_commands_run_where_samspil_is_not_on_the_path(tmp_path: Path) -> None:
    """The demo prints the TUI commands with the samspil it runs from when the shell would
    not find a bare ``samspil`` (``make demo`` does not activate the virtual environment)."""
    out = _demo(tmp_path, 1, env={**os.environ, "PATH": "/usr/bin:/bin"}).stdout
    command = re.search(r"^Caseworker TUI \(PPR Aalborg\): (\S+) tui --hub", out, re.M)
    assert command, out
    assert command.group(1) == str(Path(sys.executable).with_name("samspil"))
    assert Path(command.group(1)).is_file()
