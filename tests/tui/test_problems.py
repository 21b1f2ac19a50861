"""The apps' words for the hub's refusals (:mod:`tui.problems`): a sentence per code in both
languages, a sentence per status for a code not known, and never the hub's own detail."""

from __future__ import annotations

import ast
from enum import StrEnum
from pathlib import Path

import pytest

from coordinator.index.verified_consent import Refusal
from messages.errors import RefuseCode
from tui.i18n import Texts
from tui.problems import SENTENCES, ends_session, notice, sentence
from wire.errors import (
    CredentialRefused,
    HubAnswerUnreadable,
    HubError,
    HubRefused,
    HubUnavailable,
)

DA, EN = Texts("da"), Texts("en")
CPR = "1203164321"


def test_both_languages_have_a_sentence_for_the_same_codes() -> None:
    assert set(SENTENCES["da"]) == set(SENTENCES["en"])


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            CredentialRefused("x", status=401, code="token-expired", detail="has expired"),
            "Dit token er udløbet.",
        ),
        (
            CredentialRefused("x", status=403, code="forbidden", detail="the role operator"),
            "Din rolle må ikke gøre dette.",
        ),
        (
            HubRefused("x", status=404, code="not-found"),
            "Findes ikke hos hubben — eller er ikke jeres.",
        ),
        (
            HubUnavailable("x", status=429, code="rate-limited", retry_after=3),
            "Hubben får for mange forespørgsler fra dig — prøv igen om 3 s.",
        ),
        (
            HubUnavailable("x", status=429, code="rate-limited"),
            "Hubben får for mange forespørgsler fra dig — prøv igen om lidt.",
        ),
        (
            HubUnavailable("x", status=503, code="database-unavailable", retry_after=1),
            "Hubbens database svarer ikke lige nu — prøv igen om lidt.",
        ),
        (HubUnavailable("x", status=502), "Hubben svarer med en fejl (502) — prøv igen om lidt."),
        (HubUnavailable("x"), "Hubben svarer ikke."),
        (
            HubAnswerUnreadable("x", status=200),
            "Hubbens svar kunne ikke læses — prøv igen; bliver det ved, så kontakt driften.",
        ),
        (HubRefused("x", status=404, code="http-404"), "Findes ikke hos hubben."),
        (HubRefused("x", status=418, code="teapot"), "Hubben afviste forespørgslen (teapot)."),
    ],
)
def test_each_refusal_in_danish(error: HubError, said: str) -> None:
    assert sentence(DA, error) == said
    assert notice(DA, error) == "✖ " + said


def test_and_in_english() -> None:
    expired = CredentialRefused("x", status=401, code="token-expired")
    assert sentence(EN, expired) == "Your token has expired."
    busy = HubUnavailable("x", status=429, code="too-many-failures", retry_after=60)
    assert sentence(EN, busy) == "Too many failed logins from here — try again in 60 s."


@pytest.mark.parametrize(
    "code",
    [
        f"no-case-for-{CPR}",  # a number that could be data
        CPR,
        "<b>[red]markup</b>",
        "Ikke-en-kode med mellemrum",
        "x" * 41,
    ],
)
def test_the_hubs_detail_and_an_odd_code_never_reach_the_screen(code: str) -> None:
    error = HubRefused(
        f"GET /v1/children/***/overview: 422 child {CPR} has no case",
        status=422,
        code=code,
        detail=f"child {CPR} (Mads Jensen) has no case",
    )
    said = sentence(DA, error)
    assert said == "Hubben godtager det ikke."
    assert CPR not in said


def test_a_new_plain_code_is_named_after_its_status_sentence() -> None:
    error = HubRefused("x", status=409, code="consent-disputed", detail="by PPR Aalborg")
    assert sentence(DA, error) == "Hubben afviser det i den nuværende tilstand (consent-disputed)."


def test_only_a_401_ends_the_session() -> None:
    assert ends_session(CredentialRefused("x", status=401, code="unauthorized"))
    assert ends_session(CredentialRefused("x", status=401, code="token-expired"))
    assert not ends_session(CredentialRefused("x", status=403, code="forbidden"))
    assert not ends_session(HubRefused("x", status=403, code="no-active-case"))
    assert not ends_session(HubUnavailable("x", status=429, code="too-many-failures"))


# --- every code the hub can answer has its words -------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
ANSWERING = ("coordinator", "messages")
"""The packages whose errors the hub answers with (a message's own errors reach a client as a
problem too, when a letter is refused)."""
NOT_ANSWERING = (
    "coordinator/cli.py",
    "coordinator/database/backup.py",
    "messages/cli.py",
    "messages/fhir/answer.py",  # a FHIR Acknowledgement's response codes: no problem codes
)
NOT_ANSWERED = {
    "config": "a setting refused at start-up: the hub does not run",
    "backup-failed": "samspil backup's, on the command line",
    "hl7-error": "an HL7 message's, answered in an HL7 ACK by the adapter",
    "mllp-frame": "an MLLP frame's, answered by the adapter",
    **{
        f"edifact-{kind}": "an EDIFACT file's, answered by the GP adapter (rejected/, a CTL)"
        for kind in (
            "error",
            "charset",
            "count",
            "missing-segment",
            "reference",
            "release",
            "several-messages",
            "structure",
            "truncated",
            "una",
            "unsupported",
            "value",
        )
    },
}
PASSED_ON = {
    "code",
    "exc.code",
    "code or self.refuse_code.value",
    "code or type(self).code",  # a class's own code (found on the class)
    "first.code if first else None",  # a broken profile rule's code (found where it is made)
}
"""Expressions that hand on a code made elsewhere (found there)."""
NOT_PROBLEMS = {
    "AckCode.FATAL_ERROR if negative else AckCode.OK",  # receipts made an Acknowledgement
    "AckCode.FATAL_ERROR",  # an expired letter's Acknowledgement to its FHIR sender
}
"""Expressions named ``code`` that make no problem code (a FHIR Acknowledgement's response
code)."""
ENUMS: dict[str, type[StrEnum]] = {
    "RefuseCode": RefuseCode,  # MedCom's refuse codes: any of them may answer a letter
    "refuse_code": RefuseCode,
    "refusal": Refusal,  # a signed consent document's refusals
}


def _literals(node: ast.expr) -> list[str] | None:
    """The codes a plain expression can be: a string, a dict's values, ``{...}.get(k, x)``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | None):
        return [node.value] if node.value else []  # None: no code of its own
    if isinstance(node, ast.Dict):
        return [s for value in node.values if value for s in _literals(value) or []]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Dict)
    ):
        return (_literals(node.func.value) or []) + [
            s for arg in node.args[1:] for s in _literals(arg) or []
        ]
    if isinstance(node, ast.Attribute) and node.attr == "value":  # an enum member's value
        named = ast.unparse(node.value).split(".")
        for part in named:
            if part in ENUMS:
                return [member.value for member in ENUMS[part]]
    return None


def hub_codes() -> tuple[set[str], list[str]]:
    """Every problem code the hub's source can answer with, read from the source (a class's
    ``code``, a ``code=`` argument or default, ``problem(status, code, ...)``), and the
    places where a code is made in a way this cannot read."""
    codes: set[str] = {member.value for member in RefuseCode}
    unread: list[str] = []
    kinds: set[str] = set()  # IdentifierError(kind=...): its code is invalid-{kind}
    for package in ANSWERING:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            if where in NOT_ANSWERING or where.startswith("messages/hl7/"):
                continue
            source = path.read_text(encoding="utf-8")
            for node in ast.walk(ast.parse(source)):
                made: list[ast.expr] = []
                if isinstance(node, ast.Call):
                    made += [k.value for k in node.keywords if k.arg == "code"]
                    if isinstance(node.func, ast.Name) and node.func.id == "problem":
                        made += node.args[1:2]
                    if ast.unparse(node.func) == "IdentifierError":
                        kinds.update(
                            str(k.value.value)
                            for k in node.keywords
                            if k.arg == "kind" and isinstance(k.value, ast.Constant)
                        )
                elif isinstance(node, ast.ClassDef):
                    for statement in node.body:
                        if isinstance(statement, ast.Assign | ast.AnnAssign):
                            targets = (
                                statement.targets
                                if isinstance(statement, ast.Assign)
                                else [statement.target]
                            )
                            if any(ast.unparse(t) == "code" for t in targets) and statement.value:
                                made.append(statement.value)
                elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple | ast.Call):
                    for target in node.targets:  # code, detail = "timeout", "..."
                        if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                            made += [
                                v
                                for t, v in zip(target.elts, node.value.elts, strict=False)
                                if ast.unparse(t) == "code"
                            ]
                        elif (
                            ast.unparse(target) == "code"
                            and isinstance(node.value, ast.Call)
                            and _literals(node.value) is not None
                        ):  # code = {404: "not-found", ...}.get(status, "http-error")
                            made.append(node.value)
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    arguments = node.args
                    named = [
                        *zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True),
                        *zip(
                            arguments.args[len(arguments.args) - len(arguments.defaults) :],
                            arguments.defaults,
                            strict=True,
                        ),
                    ]
                    made += [d for a, d in named if a.arg == "code" and d is not None]
                for expression in made:
                    text = ast.unparse(expression)
                    if text == "f'invalid-{kind}'":
                        codes.add("invalid-{kind}")
                        continue
                    if text in NOT_PROBLEMS:
                        continue
                    found = _literals(expression)
                    if found is None and text not in PASSED_ON:
                        unread.append(f"{where}:{expression.lineno}: {text}")
                    codes.update(found or [])
    if "invalid-{kind}" in codes:
        codes.discard("invalid-{kind}")
        codes.update(f"invalid-{kind}" for kind in kinds)
    return codes - {""}, unread


def test_the_code_reader_finds_codes_of_each_kind() -> None:
    codes, _ = hub_codes()
    assert {
        "no-active-case",  # a class's code
        "consent-verified",  # a code= argument
        "method-not-allowed",  # problem_middleware's table
        "timeout",  # the server's own answer
        "bad-request",  # a code= default
        "invalid-cpr",  # IdentifierError(kind="cpr")
        "consent-document-expired",  # an enum's value
        "ukendt_lokationsnummer",  # MedCom's
        "store-unavailable",  # problem(503, "store-unavailable", ...)
    } <= codes


def test_every_code_the_hub_answers_has_a_sentence_in_each_language() -> None:
    codes, unread = hub_codes()
    assert not unread, "codes made in a way the test cannot read: " + "; ".join(unread)
    for lang in ("da", "en"):
        missing = sorted(codes - set(SENTENCES[lang]) - set(NOT_ANSWERED))
        assert not missing, f"no {lang} sentence for the hub's codes {missing} (tui/problems.py)"
    assert not (set(NOT_ANSWERED) & set(SENTENCES["da"])), "a code told as not answered is"
