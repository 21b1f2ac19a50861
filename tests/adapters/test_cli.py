"""``samspil adapter KIND --config FILE``: a real process with its TOML file, its status
endpoint, and a graceful stop on SIGTERM; a broken configuration is a clear error."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

from coordinator.tables import Sector
from messages.hl7.samples import GP_GLN
from tests.adapters.conftest import RestartableHub
from tests.adapters.processes import run_adapter, start_adapter, stop_adapter, write_config
from tests.commands import free_port


def status(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as answer:
        result: dict[str, object] = json.loads(answer.read())
        return result


async def test_an_adapter_runs_from_its_config_and_stops_on_sigterm(
    hub: RestartableHub, tmp_path: Path
) -> None:
    token = await hub.org(GP_GLN, Sector.GP)
    status_port, mllp_port = free_port(), free_port()
    config = write_config(
        tmp_path,
        "gp",
        hub.url,
        token,
        f"""
[adapter]
data_dir = "state"
status_port = {status_port}

[mllp]
port = {mllp_port}

[filedrop]
root = "medcom"
""",
    )
    process = await start_adapter("gp", config)
    try:
        health: dict[str, object] = {}
        for _ in range(100):
            try:
                health = await asyncio.to_thread(status, status_port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        assert health["organisation"] == GP_GLN
        assert health["mllp_port"] == mllp_port
        assert health["outbox_depth"] == 0
        assert (tmp_path / "medcom" / "outbox").is_dir()
    finally:
        err = await stop_adapter(process)
    assert process.returncode == 0, err
    assert "adapter stopped kind=gp" in err
    assert token not in err


def test_a_broken_config_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[hub]\nurl = "ftp://x"\ntoken = "t"\n', encoding="utf-8")
    done = run_adapter("municipality", config)
    assert done.returncode == 2
    assert "adapter-config" in done.stderr
    assert "Traceback" not in done.stderr
