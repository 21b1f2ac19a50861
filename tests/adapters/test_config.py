"""An adapter's TOML file: every typo is an error naming the file, table and key; the status
server says where it listens; a wrong token is loud on ``/status``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.config import load_config
from adapters.errors import AdapterConfigError, AdapterCredentialsRefused
from messages.hl7.samples import GP_GLN
from tests.adapters.conftest import MakeAdapter, RestartableHub, eventually
from tests.adapters.processes import run_adapter

GOOD = f"""
[hub]
url = "http://127.0.0.1:1"
token = "not-a-real-token-0123456789"

[organisation]
gln = "{GP_GLN}"
name = "Lægehuset"

[adapter]
data_dir = "state"
status_port = 8181

[mllp]
port = 2575

[filedrop]
root = "medcom"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gp.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_documented_keys_load(tmp_path: Path) -> None:
    config = load_config("gp", _write(tmp_path, GOOD))
    assert config.status_port == 8181
    assert config.mllp is not None
    assert config.mllp.port == 2575


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("status_port = 8181", "statusport = 8181", "[adapter] statusport: unknown key (known: "),
        ('url = "http', 'ulr = "http', "[hub] ulr: unknown key (known: "),
        ('name = "Læ', 'navn = "Læ', "[organisation] navn: unknown key (known: gln, name)"),
        ("port = 2575", "prot = 2575", "[mllp] prot: unknown key (known: ack_wait, "),
        ("[filedrop]", "[filedrops]", "[filedrops]: unknown section (known sections: "),
    ],
)
def test_every_unknown_key_or_section_is_named(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(AdapterConfigError) as caught:
        load_config("gp", path)
    message = caught.value.message
    assert message.startswith(f"{path}: "), message
    assert expected in message, message
    assert "__init__" not in message  # no Python TypeError text
    assert "not-a-real-token" not in message


def test_all_typos_are_listed_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("status_port", "status_prot").replace("port = 2575", "prot = 2575")
    with pytest.raises(AdapterConfigError) as caught:
        load_config("gp", _write(tmp_path, text))
    lines = caught.value.message.splitlines()
    assert len(lines) == 2, lines
    assert "[adapter] status_prot: unknown key (known: case_kind, data_dir, " in lines[0]
    assert "status_port" in lines[0]
    assert "[mllp] prot: unknown key" in lines[1]


def test_status_port_must_be_a_port(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("status_port = 8181", 'status_port = "8181"'))
    with pytest.raises(AdapterConfigError, match=r"\[adapter\] status_port: must be a port"):
        load_config("gp", path)


def test_the_command_refuses_a_typo_with_a_clear_line(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("status_port", "statusport"))
    done = run_adapter("gp", path)
    assert done.returncode == 2
    assert f"{path}: [adapter] statusport: unknown key (known: " in done.stderr
    assert "Traceback" not in done.stderr


async def test_status_port_0_logs_the_port_it_bound(
    make_adapter: MakeAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    gp = await make_adapter("gp", GP_GLN, status_port=0)
    assert gp.status_port
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert f"status served on 127.0.0.1:{gp.status_port}" in text


async def _get(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(url) as answer:
        return answer.status, await answer.json()


async def test_a_wrong_token_is_a_start_up_error(make_adapter: MakeAdapter) -> None:
    gp = await make_adapter("gp", GP_GLN, start=False, token="wrong-token-" + "x" * 20)
    with pytest.raises(AdapterCredentialsRefused) as caught:
        await gp.start()
    assert caught.value.code == "hub-credentials"
    assert "refuses this adapter's credentials (401" in caught.value.message
    assert "wrong-token" not in caught.value.message
    assert gp.listener.port == 0  # never listened: the clinic's engine keeps its queue


async def test_a_wrong_token_the_hub_refuses_later_is_a_loud_warning_on_status(
    hub: RestartableHub, make_adapter: MakeAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-token-" + "x" * 20
    gp = await make_adapter("gp", GP_GLN, start=False, status_port=0, token=wrong)
    await hub.stop()  # not reachable at start-up: the adapter starts, credentials unchecked
    await gp.start()
    try:
        await hub.start()
        await _loud_while_refused(gp, caplog)
    finally:
        await gp.stop(grace=1.0)


async def _loud_while_refused(gp: Any, caplog: pytest.LogCaptureFixture) -> None:

    async def refused() -> bool:
        return bool(gp.health()["status"] == "unauthorized")

    await eventually(refused, within=60)
    code, status = await _get(f"http://127.0.0.1:{gp.status_port}/status")
    assert code == 200
    assert status["status"] == "unauthorized"
    warnings = status["warnings"]
    assert isinstance(warnings, list)
    assert "hub refuses our credential (401 " in warnings[0]
    code, _ = await _get(f"http://127.0.0.1:{gp.status_port}/healthz")
    assert code == 503
    assert any("hub refuses our credential" in r.getMessage() for r in caplog.records)
