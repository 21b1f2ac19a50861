"""The wire contract: ``wire`` is a low layer, and what the hub answers from its models
matches the schemas ``/v1/openapi.json`` generates from them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from typing import Any

import jsonschema_rs  # schemathesis' JSON Schema validator (the test group has it)
import pytest
from pydantic import BaseModel

from coordinator.openapi import DOCUMENT
from coordinator.responses import json_response
from wire.index import Overview
from wire.mailbox import Accepted, Inbox, MessageStatus
from wire.problem import Problem

PROBE = """
import importlib, pkgutil, sys
import wire
for info in pkgutil.walk_packages(wire.__path__, "wire."):
    importlib.import_module(info.name)
heavy = {"textual", "sqlalchemy", "sqlmodel", "asyncpg", "coordinator", "adapters", "tui"}
bad = sorted(m for m in sys.modules if m.split(".")[0] in heavy or m == "aiohttp.web")
print(",".join(bad))
"""


def test_wire_loads_no_server_database_or_ui() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"wire pulled in: {done.stdout.strip()}"


def test_every_schema_reference_resolves() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(DOCUMENT)))
    assert refs, "the document references no schema"
    assert refs <= set(schemas), f"unresolved: {sorted(refs - set(schemas))}"


def _answer(model: BaseModel, **options: Any) -> Any:
    body = json_response(model, **options).body
    assert isinstance(body, bytes)
    return json.loads(body)


def _check(schema_name: str, answer: Any) -> None:
    schema = {
        "$ref": f"#/components/schemas/{schema_name}",
        "components": {"schemas": DOCUMENT["components"]["schemas"]},
    }
    errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(answer)]
    assert errors == [], errors


NOW = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
CONTACT = {"name": "Mette", "role": "psykolog", "phone": None, "email": None}


def _overview(*, own_case: dict[str, Any], other_case: dict[str, Any]) -> Overview:
    sector = {"organisation": "5790000020019", "organisation_name": "PPR", "sector": "ppr"}
    return Overview.model_validate(
        {
            "own": {"cases": [{**sector, **own_case}], "appointments": []},
            "others": {
                "cases": [{**sector, **other_case}],
                "appointments": [
                    {
                        **sector,
                        "starts_at": NOW,
                        "ends_at": NOW,
                        "status": "booked",
                        "location": None,
                        "with": {"name": "Mette", "role": "psykolog"},
                    }
                ],
            },
            "coordinator": None,
            "consent": {"state": "complete", "age": 9, "rule": "r", "sectors": {"ppr": "shared"}},
            "hints": [],
            "disclosed": ["5790000020019"],
        }
    )


@pytest.mark.parametrize(
    ("schema_name", "model", "options", "expected"),
    [
        (
            "Accepted",
            Accepted(id=uuid.UUID(int=1), status=MessageStatus.ACCEPTED, duplicate=True),
            {"exclude_defaults": True},
            {"id": str(uuid.UUID(int=1)), "status": "accepted", "duplicate": True},
        ),
        (
            "Problem",
            Problem(type="t", title="Bad request", status=400, detail="d", code="c"),
            {"exclude_none": True},
            {"type": "t", "title": "Bad request", "status": 400, "detail": "d", "code": "c"},
        ),
    ],
)
def test_answers_are_what_they_were(
    schema_name: str, model: BaseModel, options: dict[str, bool], expected: Any
) -> None:
    answer = _answer(model, **options)
    assert answer == expected
    _check(schema_name, answer)


def test_an_inbox_answer_matches_its_schema() -> None:
    entry = {
        "id": uuid.UUID(int=2),
        "type": "XDIS91",
        "sender": "5790000010018",
        "received_at": NOW,
        "size": 1234,
        "status": "accepted",
        "letter_id": "L1",
        "episode_id": None,
        "subject": "Henvisning: Mads J.",
        "in_reply_to": None,
        "suggested_case": True,
    }
    answer = _answer(Inbox.model_validate({"messages": [entry]}))
    assert answer["messages"][0]["received_at"] == "2026-12-06T09:30:00Z"
    assert answer["messages"][0]["id"] == str(uuid.UUID(int=2))
    _check("Inbox", answer)


def test_an_overview_keeps_the_owners_fields_to_the_owner() -> None:
    case = {
        "kind": "ppr-assessment",
        "status": "active",
        "opened_on": date(2026, 1, 5),
        "closed_on": None,
        "contact": CONTACT,
    }
    overview = _overview(own_case={**case, "ref": "C1", "title": None}, other_case=case)
    answer = _answer(overview, exclude_unset=True)
    own, other = answer["own"]["cases"][0], answer["others"]["cases"][0]
    assert (own["ref"], own["title"], own["opened_on"]) == ("C1", None, "2026-01-05")
    assert "ref" not in other
    assert "title" not in other
    assert "ref" not in answer["others"]["appointments"][0]
    assert answer["others"]["appointments"][0]["with"] == {"name": "Mette", "role": "psykolog"}
    assert "detail" not in answer["consent"]
    _check("Overview", answer)
