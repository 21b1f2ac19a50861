"""Where MedCom's official reference files are, for tests that check conformance against them.

The files live in ``shared/medcom/`` beside the repository (``../shared/medcom`` from the
repository root); see its README. They are reference data, never copied into the project, and
absent on a user's machine: mark tests that read them with ``@pytest.mark.official`` and
``@requires_official`` so that they skip with a clear reason there::

    from tests.medcom_paths import official_examples, official_schema, requires_official

    @pytest.mark.official
    @requires_official
    def test_something() -> None:
        schema = official_schema("2006/07/01")
        ...
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

import pytest
from lxml import etree

__all__ = [
    "OFFICIAL",
    "official_edifact",
    "official_examples",
    "official_schema",
    "requires_official",
]


def _reference_folder() -> Path:
    """``<repository>/../shared/medcom``; in a git worktree (``.git`` is a file naming the
    main repository's git directory), beside the main checkout when not beside the worktree."""
    repository = Path(__file__).resolve().parents[1]
    beside = repository.parent / "shared" / "medcom"
    dot_git = repository / ".git"
    if beside.is_dir() or not dot_git.is_file():
        return beside
    text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
    if not text.startswith("gitdir:"):
        return beside
    git_dir = Path(text.removeprefix("gitdir:").strip())  # <main>/.git/worktrees/<name>
    if git_dir.parent.name != "worktrees":
        return beside
    main_checkout = git_dir.parent.parent.parent
    return main_checkout.parent / "shared" / "medcom"


#: ``<repository>/../shared/medcom`` (this file is ``<repository>/tests/medcom_paths.py``).
OFFICIAL: Final[Path] = _reference_folder()

requires_official = pytest.mark.skipif(
    not (OFFICIAL / "xsd").is_dir(),
    reason=(
        f"MedCom's official schemas and examples are not at {OFFICIAL} "
        "(reference data kept beside the repository, absent outside the project's workspace)"
    ),
)


@functools.cache
def official_schema(date: str) -> etree.XMLSchema:
    """MedCom's official schema of ``date`` ("2006/07/01" or "2006-07-01"), compiled once.

    Loads ``xsd/<date>/EMessage.xsd``, the entry point that includes every letter of that
    namespace: 2006/07/01 (XDIS91), 2005/08/07 (XCTL01-03 receipts), 2012/03/28 (XBIN01).
    """
    entry = OFFICIAL / "xsd" / date.replace("-", "/") / "EMessage.xsd"
    if not entry.is_file():
        raise FileNotFoundError(f"no official MedCom schema at {entry}")
    return etree.XMLSchema(etree.parse(str(entry)))


def official_edifact(name: str) -> Path:
    """MedCom's EDIFACT example ``<name>.edi`` (DIS91_1, DIS91_2, CTL01_1, CTL02_1, CTL03_1)."""
    return OFFICIAL / "examples" / "edifact" / f"{name}.edi"


def official_examples() -> list[Path]:
    """MedCom's official OIOXML example messages, sorted by name (bytes as published)."""
    return sorted((OFFICIAL / "examples" / "oioxml").glob("*.xml"))
