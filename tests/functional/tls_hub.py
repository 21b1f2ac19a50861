"""A real hub serving HTTPS with the test PKI's certificates (:mod:`tests.functional.pki`):
what test_tls.py and test_certificates.py share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from coordinator.security.credentials import add_user, local_actor
from coordinator.settings import Settings
from coordinator.state import ENGINE
from coordinator.tables import OrganisationCreate, Role, Sector
from tests.functional.conftest import register
from tests.functional.pki import Pki


def tls_settings(
    pki: Pki, data_dir: Path, database_url: str, *, mutual: bool = True, **more: Any
) -> Settings:
    """A test hub's settings with the PKI's server certificate (and, ``mutual``, its CA for
    client certificates)."""
    return Settings(
        environment="test",
        data_dir=data_dir,
        database_url=database_url,
        tls_cert=pki.server_cert,
        tls_key=pki.server_key,
        tls_client_ca=pki.ca_file if mutual else None,
        **more,
    ).check()


async def over_tls(
    pki: Pki,
    method: str,
    url: str,
    *,
    cert: Path | None = None,
    headers: dict[str, str] | None = None,
    json: Any = None,
) -> tuple[int, Any]:
    """One request on its own TLS connection, trusting the PKI's CA, with the client
    certificate ``cert``: the status and the JSON answer."""
    connector = aiohttp.TCPConnector(ssl=pki.context(cert))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.request(method, url, headers=headers, json=json) as response,
    ):
        return response.status, await response.json(content_type=None)


@dataclass
class TlsHub:
    app: web.Application
    base: str
    port: int
    pki: Pki

    async def org(
        self, gln: str, sector: Sector = Sector.PPR, expires_at: datetime | None = None
    ) -> str:
        organisation = OrganisationCreate(gln=gln, name=f"Org {gln}", sector=sector)
        return await register(self.app, organisation, expires_at=expires_at)

    async def operator(self, gln: str) -> dict[str, str]:
        """The headers of an operator of ``gln``."""
        token = await add_user(
            actor=local_actor(),
            engine=self.app[ENGINE],
            org_gln=gln,
            name="Ole Operatør",
            role=Role.OPERATOR,
        )
        return {"Authorization": f"Bearer {token}"}

    async def call(
        self,
        method: str,
        path: str,
        *,
        cert: Path | None = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
    ) -> tuple[int, Any]:
        """One request on its own TLS connection, with the client certificate ``cert``."""
        return await over_tls(
            self.pki, method, self.base + path, cert=cert, headers=headers, json=json
        )

    async def whoami(self, cert: Path) -> tuple[int, str | None]:
        """The status of ``GET /v1/whoami`` with ``cert``, and the problem's code if refused."""
        status, body = await self.call("GET", "/v1/whoami", cert=cert)
        return status, body.get("code") if status != 200 else None
