"""The apps' words for the hub's refusals (:mod:`tui.problems`): a sentence per code in both
languages, a sentence per status for a code not known, and never the hub's own detail."""

from __future__ import annotations

import pytest

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
