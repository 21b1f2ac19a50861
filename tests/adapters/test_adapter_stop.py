"""``Adapter.stop`` never raises, and never hides a failure: a step that fails is logged by
name, with the error's code and type only (never its message, which may hold a CPR number),
and the steps after it still run."""

from __future__ import annotations

import logging

import pytest

from adapters.errors import OutboxError
from messages.hl7.samples import CHILD_CPR, GP_GLN
from tests.adapters.conftest import MakeAdapter


async def test_a_failing_step_is_logged_without_its_message_and_the_rest_still_stops(
    make_adapter: MakeAdapter, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    gp = await make_adapter("gp", GP_GLN, start=False)
    await gp.start()
    real_stop_sector = gp._stop_sector

    async def sector_fails(grace: float) -> None:
        await real_stop_sector(grace)  # the listener closes, then something goes wrong
        raise RuntimeError(f"the EHR hung up on child {CHILD_CPR}")

    async def hub_fails() -> None:
        raise OutboxError(f"cannot close for {CHILD_CPR}", code="close-failed")

    real_hub_close = gp.hub.close
    monkeypatch.setattr(gp, "_stop_sector", sector_fails)
    monkeypatch.setattr(gp.hub, "close", hub_fails)
    caplog.set_level(logging.INFO, logger="adapters.base")

    await gp.stop(grace=0.5)  # does not raise

    failures = [r.getMessage() for r in caplog.records if "adapter stop step=" in r.getMessage()]
    assert len(failures) == 2, failures
    assert failures[0].startswith("adapter stop step=sector failed kind=gp")
    assert "code=- error=RuntimeError at test_adapter_stop.py" in failures[0]
    assert failures[1].startswith("adapter stop step=hub failed kind=gp")
    assert "code=close-failed error=OutboxError" in failures[1]
    assert all(CHILD_CPR not in r.getMessage() for r in caplog.records)
    # the steps after the failures ran: the tasks are gone, the database is closed, and the
    # summary line was written
    assert not gp._tasks
    assert gp.db._conn is None
    assert any(r.getMessage().startswith("adapter stopped kind=gp") for r in caplog.records)
    await real_hub_close()  # the session the failing close left open
    await gp.stop()  # a second stop is harmless
