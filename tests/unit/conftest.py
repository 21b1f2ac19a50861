"""Fixtures the unit tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from coordinator.tables import ORGANISATION


@pytest.fixture
def conn() -> Iterator[Connection]:
    """A connection to an in-memory SQLite database holding only the organisation table."""
    engine = create_engine("sqlite+pysqlite://")
    ORGANISATION.create(engine)
    with engine.connect() as connection:
        yield connection
    engine.dispose()
