"""The consent rule as pure functions: active, both sectors, and whose word counts by age."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from coordinator.index.consent import (
    ConsentFacts,
    Missing,
    accepted_relations,
    age_on,
    age_rule,
    is_active,
    judge,
    may_record,
    sector_verdicts,
)
from coordinator.index.tables import ConsentRelation as R
from coordinator.tables import Sector as S
from messages.identifiers import parse_cpr

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def facts(relation: R, *sectors: S, **times: datetime | None) -> ConsentFacts:
    return ConsentFacts(
        relation=relation,
        sectors=frozenset(sectors),
        valid_from=times.get("valid_from") or NOW - timedelta(days=1),
        valid_until=times.get("valid_until"),
        revoked_at=times.get("revoked_at"),
    )


def test_age_comes_from_the_cpr_birth_date() -> None:
    cpr = parse_cpr("2811114321")  # born 28 November 2011
    assert cpr.age_on(NOW.date()) == age_on(cpr.birth_date, NOW.date()) == 15
    assert age_on(cpr.birth_date, date(2026, 11, 27)) == 14


@pytest.mark.parametrize(
    ("age", "owner", "accepted"),
    [
        (3, S.GP, {R.CUSTODIAL_PARENT, R.GUARDIAN}),
        (14, S.PSYCHIATRY, {R.CUSTODIAL_PARENT, R.GUARDIAN}),
        (14, S.PPR, {R.CUSTODIAL_PARENT, R.GUARDIAN}),
        (15, S.PSYCHIATRY, {R.SELF}),
        (15, S.GP, {R.SELF}),
        (15, S.FAMILY, {R.CUSTODIAL_PARENT, R.GUARDIAN, R.SELF}),
        (17, S.PPR, {R.CUSTODIAL_PARENT, R.GUARDIAN, R.SELF}),
        (18, S.PPR, {R.SELF}),
    ],
)
def test_whose_consent_counts(age: int, owner: S, accepted: set[R]) -> None:
    assert accepted_relations(age, owner) == accepted


def test_active_means_started_not_ended_not_revoked() -> None:
    assert is_active(facts(R.SELF, S.PPR), NOW)
    assert not is_active(facts(R.SELF, S.PPR, valid_from=NOW + timedelta(seconds=1)), NOW)
    assert not is_active(facts(R.SELF, S.PPR, valid_until=NOW), NOW)
    assert not is_active(facts(R.SELF, S.PPR, revoked_at=NOW), NOW)
    assert is_active(facts(R.SELF, S.PPR, revoked_at=NOW + timedelta(hours=1)), NOW)


def test_a_consent_must_cover_both_sectors() -> None:
    given = [facts(R.CUSTODIAL_PARENT, S.PPR, S.GP)]
    assert judge(caller=S.PPR, owner=S.GP, age=9, consents=given, now=NOW) is None
    assert judge(caller=S.GP, owner=S.PPR, age=9, consents=given, now=NOW) is None
    assert judge(caller=S.FAMILY, owner=S.GP, age=9, consents=given, now=NOW) is Missing.NO_CONSENT
    assert judge(caller=S.PPR, owner=S.PPR, age=9, consents=given, now=NOW) is None


def test_the_age_rule_explains_what_is_missing() -> None:
    parent = [facts(R.CUSTODIAL_PARENT, S.PPR, S.PSYCHIATRY)]
    own = [facts(R.SELF, S.PPR, S.PSYCHIATRY)]
    assert judge(caller=S.PPR, owner=S.PSYCHIATRY, age=15, consents=parent, now=NOW) is (
        Missing.OWN_CONSENT_NEEDED
    )
    assert judge(caller=S.PSYCHIATRY, owner=S.PPR, age=15, consents=parent, now=NOW) is None
    assert judge(caller=S.PPR, owner=S.PSYCHIATRY, age=14, consents=own, now=NOW) is (
        Missing.PARENT_CONSENT_NEEDED
    )
    verdicts = sector_verdicts(caller=S.PPR, age=16, consents=parent + own, now=NOW)
    assert verdicts == {S.PPR: None, S.FAMILY: Missing.NO_CONSENT, S.PSYCHIATRY: None, S.GP: (
        Missing.NO_CONSENT
    )}  # fmt: skip
    assert "under 15" in age_rule(14)
    assert "from 15" in age_rule(15)
    assert "own consent" in age_rule(18)


def test_who_may_record_a_consent() -> None:
    assert not may_record(R.SELF, 14)
    assert may_record(R.SELF, 15)
    assert may_record(R.CUSTODIAL_PARENT, 17)
    assert not may_record(R.GUARDIAN, 18)
