"""Fresh PostgreSQL databases for tests: made on the server of ``SAMSPIL_TEST_POSTGRES_URL``
with a random name, dropped (connections and all) when the test is done."""

from __future__ import annotations

import secrets

import asyncpg
from sqlalchemy.engine import make_url

__all__ = ["drop_database", "new_database"]


async def new_database(server: str) -> tuple[str, str]:
    """A new, empty database on ``server``: its name and its URL."""
    name = f"samspil_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name, make_url(server).set(database=name).render_as_string(hide_password=False)


async def drop_database(server: str, name: str) -> None:
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
