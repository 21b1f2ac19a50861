"""``samspil demo`` runs end to end on a fresh machine: a real hub on real SQLite, the
simulated pilot region with its real adapters, a progress line, and the way to the TUI."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

from adapters.simulation.region import children


def test_demo_runs_the_simulated_region(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "samspil", "demo", "--children", "4", "--speed", "30",
         "--port", "0", "--exit"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Samspil hub on embedded SQLite at http://127.0.0.1:" in out
    assert "26 organisations" in out
    assert "Done: 4 of 4 pathways finished; 4 referrals, 4 arrived as letters" in out
    assert " 0 refused, 0 still queued." in out
    assert "| hub ok" in out
    assert re.search(r"\| consents \d+ verified, \d+ attested \(\d+ revoked\) \|", out)
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
    assert "samspil tui --hub http://127.0.0.1:" in out
    assert "Consent service (signs consent documents" in out
    keys = tmp_path / "var" / "demo" / "consent-service" / "keys.json"
    assert keys.stat().st_mode & 0o777 == 0o600  # the consent service's private keys
    assert "Traceback" not in done.stderr
    tokens = tmp_path / "var" / "demo" / "tokens.txt"
    assert tokens.stat().st_mode & 0o077 == 0  # tokens are for the user alone
    for line in tokens.read_text().splitlines():
        assert line.split("\t")[1] not in out + done.stderr  # never printed
    for child in children(4, 2026, today=date.today()):
        assert child.cpr not in out + done.stderr
