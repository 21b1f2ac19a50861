"""TLS and mutual TLS: the real hub on a real port with certificates made for the test.

A throw-away CA issues the hub's certificate and the organisations' client certificates
(subject ``CN=GLN:<13 digits>``; :mod:`tests.functional.pki`); a second CA stands for anyone
else. Certificates that follow their organisation's credential, and revoked ones:
``test_certificates.py``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import trustme

from coordinator.security.tls import gln_from_peercert
from coordinator.tables import Role, Sector
from tests.commands import free_port
from tests.functional.conftest import (
    GP_GLN,
    PPR_GLN,
    Servers,
    gln,
)
from tests.functional.pki import Pki
from tests.functional.samples import xdis91
from tests.functional.tls_hub import TlsHub, over_tls, tls_settings
from wire.client import HubClient

UNKNOWN_GLN = gln(9999)


MakeTlsHub = Callable[..., Awaitable[TlsHub]]


@pytest.fixture
async def make_tls_hub(pki: Pki, tmp_path: Path) -> AsyncIterator[MakeTlsHub]:
    servers = Servers()

    async def make(mutual: bool = True) -> TlsHub:
        database = f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}"
        app, port = await servers.start(tls_settings(pki, tmp_path, database, mutual=mutual))
        return TlsHub(app, f"https://127.0.0.1:{port}", port, pki)

    yield make
    await servers.stop()


async def test_https_serves_the_api_and_bearer_tokens_still_work(
    make_tls_hub: MakeTlsHub, pki: Pki
) -> None:
    hub = await make_tls_hub(mutual=False)
    token = await hub.org(PPR_GLN)
    status, body = await hub.call("GET", "/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert status == 200, body
    assert body["organisation"]["gln"] == PPR_GLN
    status, body = await hub.call("GET", "/v1/whoami")
    assert status == 401
    assert body["code"] == "unauthorized"


async def test_plain_http_to_the_tls_port_is_refused(make_tls_hub: MakeTlsHub) -> None:
    hub = await make_tls_hub()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            async with session.get(f"http://127.0.0.1:{hub.port}/healthz") as response:
                await response.read()
    # nor does a client that does not trust the hub's CA get through
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            async with session.get(hub.base + "/healthz") as response:
                await response.read()


async def test_client_certificate_authenticates_its_organisation(
    make_tls_hub: MakeTlsHub, pki: Pki
) -> None:
    hub = await make_tls_hub()
    await hub.org(GP_GLN, Sector.GP)
    await hub.org(PPR_GLN)
    gp_pem = pki.client("gp", f"GLN:{GP_GLN}")
    status, body = await hub.call("GET", "/v1/whoami", cert=gp_pem)
    assert status == 200, body
    assert body["organisation"]["gln"] == GP_GLN
    assert body["role"] == Role.SYSTEM.value
    # a letter sent with the certificate alone, through the hub client
    async with (
        HubClient(hub.base, "", ca_file=pki.ca_file, client_cert=gp_pem) as gp,
    ):
        sent = await gp.submit(xdis91(sender=GP_GLN, receiver=PPR_GLN))
        assert sent["status"] == "accepted"
        assert (await gp.outbox())[0]["id"] == sent["id"]


async def test_certificate_for_an_unknown_gln_is_refused(
    make_tls_hub: MakeTlsHub, pki: Pki
) -> None:
    hub = await make_tls_hub()
    await hub.org(GP_GLN, Sector.GP)
    for common_name in (f"GLN:{UNKNOWN_GLN}", "GLN:5790000000000", "gp.example"):
        pem = pki.client("stranger", common_name)
        status, body = await hub.call("GET", "/v1/whoami", cert=pem)
        assert status == 401, (common_name, body)
        assert body["code"] == "unknown-certificate"


async def test_certificate_from_another_ca_is_refused(make_tls_hub: MakeTlsHub, pki: Pki) -> None:
    hub = await make_tls_hub()
    await hub.org(GP_GLN, Sector.GP)
    forged = pki.client("forged", f"GLN:{GP_GLN}", ca=trustme.CA())
    with pytest.raises(aiohttp.ClientError):
        await hub.call("GET", "/v1/whoami", cert=forged)


async def test_disabled_organisation_certificate_is_refused(
    make_tls_hub: MakeTlsHub, pki: Pki
) -> None:
    hub = await make_tls_hub()
    await hub.org(GP_GLN, Sector.GP)
    await hub.org(PPR_GLN)
    operator = await hub.operator(PPR_GLN)
    pem = pki.client("gp", f"GLN:{GP_GLN}")
    assert (await hub.call("GET", "/v1/whoami", cert=pem))[0] == 200
    disable = f"/v1/operator/organisations/{GP_GLN}/disable"
    assert (await hub.call("POST", disable, headers=operator))[0] == 200
    status, body = await hub.call("GET", "/v1/whoami", cert=pem)
    assert status == 401
    assert body["code"] == "unknown-certificate"
    enable = f"/v1/operator/organisations/{GP_GLN}/enable"
    assert (await hub.call("POST", enable, headers=operator))[0] == 200
    assert (await hub.call("GET", "/v1/whoami", cert=pem))[0] == 200


async def test_tui_client_over_mutual_tls(make_tls_hub: MakeTlsHub, pki: Pki) -> None:
    hub = await make_tls_hub()
    token = await hub.org(PPR_GLN)
    pem = pki.client("ppr", f"GLN:{PPR_GLN}")
    client = HubClient(hub.base, token, ca_file=str(pki.ca_file), client_cert=str(pem))
    try:
        assert (await client.whoami())["organisation"]["gln"] == PPR_GLN
    finally:
        await client.close()


def test_gln_is_read_from_serial_number_before_common_name() -> None:
    cert = {
        "subject": (
            (("commonName", f"GLN:{PPR_GLN}"),),
            (("serialNumber", f"GLN:{GP_GLN}"),),
        )
    }
    assert gln_from_peercert(cert) == GP_GLN
    assert gln_from_peercert({"subject": ((("commonName", f"GLN:{PPR_GLN}"),),)}) == PPR_GLN
    assert gln_from_peercert({"subject": ((("commonName", "GLN:123"),),)}) is None
    assert gln_from_peercert({"subject": ((("commonName", "hub.example"),),)}) is None


async def test_samspil_serve_with_tls_flags(pki: Pki, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMSPIL_")}
    env["SAMSPIL_DATA_DIR"] = str(tmp_path / "served")
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "samspil",
        "serve",
        "--port",
        str(port),
        "--tls-cert",
        str(pki.server_cert),
        "--tls-key",
        str(pki.server_key),
        "--tls-client-ca",
        str(pki.ca_file),
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(200):
            try:
                status, _ = await over_tls(pki, "GET", f"https://127.0.0.1:{port}/readyz")
                break
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("samspil serve --tls-cert did not come up")
        assert status == 200
    finally:
        process.terminate()
        _, err = await process.communicate()
    assert f"listening on https://127.0.0.1:{port} (mutual TLS accepted)" in err.decode()


def test_adapter_configuration_names_the_tls_files(pki: Pki, tmp_path: Path) -> None:
    from adapters.config import load_config

    pem = pki.client("gp", f"GLN:{GP_GLN}")
    config_file = tmp_path / "gp.toml"
    config_file.write_text(
        f"""
[hub]
url = "https://127.0.0.1:8443"
ca_file = "{pki.ca_file.name}"
client_cert = "{pem.name}"

[organisation]
gln = "{GP_GLN}"
name = "Lægehuset"

[mllp]
port = 2575

[filedrop]
root = "drop"
""",
        encoding="utf-8",
    )
    config = load_config("gp", config_file)
    assert config.token == ""  # the certificate authenticates the organisation
    assert (config.ca_file, config.client_cert, config.client_key) == (pki.ca_file, pem, None)
