"""A hub that is already running, for ``samspil simulate --hub URL --admin-token T``.

The region's organisations are registered over HTTP (``POST /v1/admin/organisations`` with
an administrator's token) instead of in the hub's database, so the simulation can run
against a hub on another machine or on PostgreSQL. A system token is shown only once, so
each one is written to ``<workdir>/tokens.txt`` (mode 0600) the moment it arrives. An
organisation the hub already knows (409 ``organisation-exists``: an earlier run) runs with
the token that file holds for it; if the file has none, the run stops with a clear error
saying how to go on (rotate the token with ``samspil org token``, or use the earlier run's
workdir).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adapters.errors import AdapterError
from adapters.simulation.region import Org, OrgKind
from adapters.simulation.run import HubAccess
from wire.client import JSON, HubClient
from wire.errors import HubRefused

__all__ = ["ExternalHub", "read_tokens"]

REGISTER = "/v1/admin/organisations"


def read_tokens(path: Path) -> dict[str, str]:
    """``GLN -> token`` from a tokens file (``gln<TAB>token<TAB>name`` lines; others skipped)."""
    tokens: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return tokens
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and len(parts[0]) == 13 and parts[0].isdigit():
            tokens[parts[0]] = parts[1]
    return tokens


def _write_tokens(path: Path, tokens: dict[str, str], names: dict[str, str]) -> None:
    """All of ``tokens`` to ``path``, atomically, readable by the owner only."""
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for gln, token in tokens.items():
            handle.write(f"{gln}\t{token}\t{names.get(gln, '')}\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


@dataclass(frozen=True, slots=True)
class ExternalHub:
    """A :class:`~adapters.simulation.run.HubProvider` for a hub at ``url``."""

    url: str
    admin_token: str = field(repr=False)
    ca_file: Path | None = None

    def __call__(
        self, orgs: Sequence[Org], workdir: Path
    ) -> contextlib.AbstractAsyncContextManager[HubAccess]:
        return self._registered(orgs, workdir)

    @contextlib.asynccontextmanager
    async def _registered(self, orgs: Sequence[Org], workdir: Path) -> AsyncIterator[HubAccess]:
        await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
        token_file = workdir / "tokens.txt"
        saved = await asyncio.to_thread(read_tokens, token_file)
        names = {o.gln: o.name for o in orgs}
        tokens: dict[str, str] = {}
        async with HubClient(self.url, self.admin_token, ca_file=self.ca_file) as admin:
            for org in orgs:
                tokens[org.gln] = await self._register(admin, org, saved, token_file)
                await asyncio.to_thread(_write_tokens, token_file, {**saved, **tokens}, names)
        yield HubAccess(url=self.url, tokens=tokens, token_file=token_file, ca_file=self.ca_file)

    async def _register(
        self, admin: HubClient, org: Org, saved: dict[str, str], token_file: Path
    ) -> str:
        payload = {"gln": org.gln, "name": org.name, "sector": org.kind.value}
        if org.kind is not OrgKind.GP and org.municipality:
            payload["municipality"] = org.municipality
        try:
            _, answer, _ = await admin.call(
                "POST", REGISTER, body=json.dumps(payload).encode(), content_type=JSON
            )
        except HubRefused as exc:
            if exc.code == "organisation-exists" and org.gln in saved:
                return saved[org.gln]
            if exc.code == "organisation-exists":
                raise AdapterError(
                    f"{org.name} ({org.gln}) is registered on the hub already and "
                    f"{token_file} holds no token for it: run with the workdir of the run "
                    f"that registered it, or rotate its token (samspil org token --gln "
                    f"{org.gln}) and add it to {token_file}",
                    code="organisation-exists",
                ) from None
            raise AdapterError(
                f"the hub refused to register {org.gln}: {exc.code} ({exc.status}); "
                "the admin token must be an administrator's",
                code=exc.code,
            ) from None
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise AdapterError(f"the hub's answer for {org.gln} holds no token", code="no-token")
        return token
