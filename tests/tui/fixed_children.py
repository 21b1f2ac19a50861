"""Fixed answers for "Mine børn" (``GET /v1/children``): shaped as the hub answers (the
behaviour tests check the real one), with fixed times around ``FIXED_NOW``. The CPR numbers
are plainly fictitious."""

from __future__ import annotations

from typing import Any

from tests.tui.conftest import CHILD, OTHER_CHILD


def _child(
    cpr: str, at: str, kinds: list[str], *, partners: int = 0, unread: int = 0
) -> dict[str, Any]:
    return {
        "child_cpr": cpr,
        "activity_at": at,
        "cases": [
            {
                "ref": f"ppr-{cpr[:4]}-{n}",
                "kind": kind,
                "opened_on": "2026-09-01",
                "title": None,
                "contact": {"name": "Pia Psykolog", "role": "psykolog", "phone": None},
            }
            for n, kind in enumerate(kinds)
        ],
        "partners_told": partners,
        "unread_letters": unread,
    }


MY_CHILDREN = {
    "children": [
        _child(CHILD, "2026-12-02T13:05:00Z", ["ppr-assessment"], partners=2, unread=1),
        _child("2207154409", "2026-12-01T09:40:00Z", ["ppr-counselling"], partners=1),
        _child(OTHER_CHILD, "2026-11-28T12:00:00Z", ["ppr-assessment", "ppr-counselling"]),
        _child("0811174402", "2026-11-20T08:15:00Z", ["ppr-assessment"], unread=2),
    ],
    "total": 4,
    "offset": 0,
}


def my_children_routes() -> dict[tuple[str, str], Any]:
    return {("GET", "/v1/children"): MY_CHILDREN}
