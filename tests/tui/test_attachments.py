"""A letter's attachments: the letter screen lists them, and ``v`` finds their XBIN01 in
the inbox and saves each as a file (a real hub: the XDIS91 and its XBIN01 sent by the GP)."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

from messages.medcom.model import BinaryLetter, Correspondence
from tests.fhir_samples import PDF, sample_binary, sample_letter
from tests.tui.conftest import MakeTuiHub, TuiHub, screen_text, until
from tests.tui.test_caseworker import GP_PARTY, PPR_PARTY, app_for, gp_posts
from tui.screens.letter import LetterScreen


async def _send(hub: TuiHub, letter: Correspondence | BinaryLetter) -> str:
    sent = await gp_posts(hub, letter)
    return str(sent["id"])


async def test_a_letters_attachment_is_listed_and_saved(
    make_tui_hub: MakeTuiHub, tmp_path: Path
) -> None:
    hub = await make_tui_hub()
    letter = replace(sample_letter(), sender=GP_PARTY, receiver=PPR_PARTY)
    binary = replace(sample_binary(letter), sender=GP_PARTY, receiver=PPR_PARTY)
    letter_id = await _send(hub, letter)
    await _send(hub, binary)

    app = app_for(hub)
    folder = tmp_path / "bilag"
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: bool(app.org_name))
        await app.push_screen(LetterScreen(letter_id, incoming=True, attachments_dir=folder))
        await until(pilot, lambda: "Bilag (1)" in screen_text(app))
        assert "vektor_grafik (pdf" in screen_text(app)
        await pilot.press("v")
        await until(pilot, lambda: "Bilag gemt:" in screen_text(app))
    [saved] = folder.iterdir()
    assert saved.suffix == ".pdf"
    assert saved.read_bytes() == base64.b64decode(PDF)


async def test_an_attachment_not_in_the_inbox_is_said_so(
    make_tui_hub: MakeTuiHub, tmp_path: Path
) -> None:
    hub = await make_tui_hub()
    letter = replace(sample_letter(), sender=GP_PARTY, receiver=PPR_PARTY)
    letter_id = await _send(hub, letter)  # its XBIN01 never comes

    app = app_for(hub)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: bool(app.org_name))
        await app.push_screen(
            LetterScreen(letter_id, incoming=True, attachments_dir=tmp_path / "bilag")
        )
        await until(pilot, lambda: "Bilag (1)" in screen_text(app))
        await pilot.press("v")
        await until(pilot, lambda: "Bilaget er ikke i indbakken" in screen_text(app))
    assert not (tmp_path / "bilag").exists()
