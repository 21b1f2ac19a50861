"""``samspil simulate --hub URL --admin-token T``: the simulated region against a hub
started separately (``samspil serve`` in its own process), its organisations registered
over HTTP by an administrator; a second run reuses the tokens the first one kept, and a
run that cannot get a token stops with a clear error, not a traceback."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from adapters.simulation.external import read_tokens
from adapters.simulation.region import pilot_region
from tests.adapters.conftest import gln
from tests.commands import free_port, samspil

OPERATIONS_GLN = gln(8_001)  # the hub's own operations desk, not in the pilot region
pytestmark = pytest.mark.timeout(300)  # whole simulation runs in subprocesses, several per test


class Served:
    def __init__(self, port: int, env: dict[str, str], admin: str, system: str) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = env
        self.admin = admin
        self.system = system

    def get(self, path: str, token: str) -> object:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - http:// above
            return json.loads(answer.read())


@contextlib.contextmanager
def serving(tmp_path: Path, *serve_args: str) -> Iterator[Served]:
    """``samspil serve`` in its own process, with an admin registered beforehand."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMSPIL_")}
    port = free_port()
    env.update(SAMSPIL_DATA_DIR=str(tmp_path / "hub"), SAMSPIL_PORT=str(port))
    added = samspil(
        "org", "add", "--gln", OPERATIONS_GLN, "--name", "Driften", "--sector", "ppr", env=env
    )
    assert added.returncode == 0, added.stderr
    user = samspil(
        "user", "add", "--org", OPERATIONS_GLN, "--name", "Admin", "--role", "admin", env=env
    )
    assert user.returncode == 0, user.stderr
    server = subprocess.Popen(
        [sys.executable, "-m", "samspil", "serve", *serve_args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the hub did not come up")
        yield Served(port, env, user.stdout.strip(), added.stdout.strip())
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
        assert user.stdout.strip() not in err


@pytest.fixture
def served_hub(tmp_path: Path) -> Iterator[Served]:
    with serving(tmp_path) as served:
        yield served


def test_simulate_registers_the_region_over_http_on_a_running_hub(
    served_hub: Served, tmp_path: Path
) -> None:
    workdir = tmp_path / "sim"
    env = {**served_hub.env, "SAMSPIL_ADMIN_TOKEN": served_hub.admin}
    run = ("simulate", "--hub", served_hub.url, "--children", "3", "--speed", "40")
    first = samspil(*run, "--seed", "5", "--workdir", str(workdir), env=env, timeout=240)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "simulation finished: 3 of 3 pathways done, 0 errors" in first.stdout
    assert served_hub.admin not in first.stdout + first.stderr

    tokens_file = workdir / "tokens.txt"
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
    tokens = read_tokens(tokens_file)
    assert set(tokens) == {o.gln for o in pilot_region()}
    audit = served_hub.get("/v1/operator/audit?limit=1000", served_hub.admin)
    assert isinstance(audit, dict)
    registered = {e["target"] for e in audit["entries"] if e["action"] == "add-organisation"}
    assert set(tokens) <= registered
    assert {e["actor"] for e in audit["entries"] if e["target"] in tokens} == {"Admin"}

    # again, on the same hub and workdir: already registered, the kept tokens are used
    again = samspil(
        *run, "--seed", "6", "--workdir", str(workdir), "--admin-token", served_hub.admin,
        env=served_hub.env, timeout=240,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    assert "simulation finished: 3 of 3 pathways done, 0 errors" in again.stdout
    assert read_tokens(tokens_file) == tokens

    # a workdir without the tokens: a clear error naming what to do
    lost = samspil(*run, "--workdir", str(tmp_path / "elsewhere"), env=env, timeout=60)
    assert lost.returncode == 2
    assert "(organisation-exists)" in lost.stderr
    assert "samspil org token" in lost.stderr
    assert "Traceback" not in lost.stderr


def test_simulate_against_a_hub_needs_an_administrators_token(
    served_hub: Served, tmp_path: Path
) -> None:
    workdir = str(tmp_path / "sim")
    run = ("simulate", "--hub", served_hub.url, "--children", "1", "--workdir", workdir)
    system = samspil(*run, "--admin-token", served_hub.system, env=served_hub.env)
    assert system.returncode == 2
    assert "(forbidden)" in system.stderr
    assert "Traceback" not in system.stderr
    assert served_hub.system not in system.stderr
    missing = samspil(*run, env=served_hub.env)
    assert missing.returncode != 0
    assert "--admin-token or SAMSPIL_ADMIN_TOKEN" in missing.stderr
    away = samspil(
        "simulate", "--hub", f"http://127.0.0.1:{free_port()}", "--admin-token", "x",
        "--workdir", workdir, env=served_hub.env,
    )  # fmt: skip
    assert away.returncode == 2
    assert "(hub-unavailable)" in away.stderr
    assert "Traceback" not in away.stderr


def test_simulate_against_a_hub_over_https(tmp_path: Path) -> None:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert, key, ca_file = tmp_path / "hub.pem", tmp_path / "hub.key", tmp_path / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    with serving(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key)) as hub:
        url = hub.url.replace("http://", "https://")
        run = samspil(
            "simulate", "--hub", url, "--admin-token", hub.admin, "--ca-file", str(ca_file),
            "--children", "2", "--speed", "40", "--workdir", str(tmp_path / "sim"),
            env=hub.env, timeout=240,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        assert "simulation finished: 2 of 2 pathways done, 0 errors" in run.stdout
        untrusted = samspil(
            "simulate", "--hub", url, "--admin-token", hub.admin,
            "--workdir", str(tmp_path / "other"), env=hub.env,
        )  # fmt: skip
        assert untrusted.returncode == 2
        assert "(hub-unavailable)" in untrusted.stderr
