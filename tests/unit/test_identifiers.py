"""CPR, GLN and SOR rules, and identifier generation."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages.errors import IdentifierError
from messages.identifiers import (
    cpr_warning,
    gln_check_digit,
    gln_warning,
    new_episode_id,
    new_message_id,
    parse_cpr,
    parse_gln,
    parse_sor,
)


@pytest.mark.parametrize(
    ("cpr", "born"),
    [
        ("1203164321", date(2016, 3, 12)),  # 7th digit 4, YY <= 36 -> 2000s
        ("120316-4321", date(2016, 3, 12)),
        ("0101501234", date(1950, 1, 1)),  # 7th digit 1 -> 1900s
        ("0101384321", date(1938, 1, 1)),  # 7th digit 4, YY > 36 -> 1900s
        ("0101575000", date(2057, 1, 1)),  # 7th digit 5, YY <= 57 -> 2000s
        ("0101585000", date(1858, 1, 1)),  # 7th digit 5, YY > 57 -> 1800s
        ("2902129000", date(2012, 2, 29)),  # 7th digit 9, leap day
        ("2512489996", date(1948, 12, 25)),  # MedCom's test CPR: fails modulus 11, accepted
    ],
)
def test_cpr_dates_and_centuries(cpr: str, born: date) -> None:
    parsed = parse_cpr(cpr)
    assert parsed.birth_date == born
    assert str(parsed) == cpr.replace("-", "")


@pytest.mark.parametrize(
    "cpr",
    [
        "1522824933",
        "3102124321",
        "2902134321",
        "0000000000",
        "12031643",
        "12031643210",
        "abcdefghij",
        "",
        "１２０３１６４３２１",
    ],
)
def test_impossible_cpr_is_refused(cpr: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_cpr(cpr)
    assert caught.value.code == "invalid-cpr"
    assert cpr_warning(cpr) is not None
    if len(cpr) == 10 and cpr.isdigit():
        assert cpr not in str(caught.value)  # the number itself never lands in an error


def test_cpr_repr_and_age_hide_nothing_they_should_not() -> None:
    cpr = parse_cpr("1203164321")
    assert "4321" not in repr(cpr)
    assert cpr.masked == "120316-xxxx"
    assert cpr.age_on(date(2031, 3, 11)) == 14
    assert cpr.age_on(date(2031, 3, 12)) == 15


@given(st.dates(min_value=date(1858, 1, 1), max_value=date(2057, 12, 31)))
def test_every_real_birth_date_has_a_cpr(born: date) -> None:
    yy = born.year % 100
    seventh = {1800: 5, 1900: 0, 2000: 4 if yy <= 36 else 5}[born.year // 100 * 100]
    cpr = f"{born:%d%m}{yy:02d}{seventh}123"
    assert parse_cpr(cpr).birth_date == born


def test_gln_check_digit() -> None:
    assert parse_gln("5790000121441") == "5790000121441"  # MedCom test location number
    assert gln_check_digit("579000012144") == 1
    assert gln_warning("5790001382445") is None
    with pytest.raises(IdentifierError) as caught:
        parse_gln("5790000120400")  # an old MedCom test GLN with a wrong check digit
    assert caught.value.code == "invalid-gln"
    assert "check digit" in (gln_warning("5790000120400") or "")
    for bad in ("579000012144", "57900001214411", "579000012144x", ""):
        with pytest.raises(IdentifierError):
            parse_gln(bad)


def test_sor_code() -> None:
    assert parse_sor("265161000016000") == "265161000016000"
    assert parse_sor("1037801000016004") == "1037801000016004"
    for bad in ("12345", "26516100001600x", "12345678901234567"):
        with pytest.raises(IdentifierError):
            parse_sor(bad)


def test_message_ids_fit_medcom_and_do_not_collide() -> None:
    ids = [new_message_id() for _ in range(20_000)]
    assert all(len(i) == 14 and i.isalnum() and i.isascii() for i in ids)
    assert len(set(ids)) == len(ids)
    assert ids[0][:8] <= ids[-1][:8]  # time-ordered prefix
    episode = new_episode_id()
    assert len(episode) == 32
    assert "-" not in episode
