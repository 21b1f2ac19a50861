"""The consent rule as pure functions: active, both sectors, whose word counts by age; which
organisations a caller may see; how a consent appears in a caller's consent list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from coordinator.index.consent import (
    ConsentFacts,
    Listed,
    Missing,
    accepted_relations,
    age_on,
    age_rule,
    is_active,
    judge,
    listing,
    may_record,
    organisations_open_to,
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


PPR, FAMILY, BUP, GP, BUP2 = "ppr-gln", "family-gln", "bup-gln", "gp-gln", "bup2-gln"
OWNERS = {PPR: S.PPR, FAMILY: S.FAMILY, BUP: S.PSYCHIATRY, GP: S.GP, BUP2: S.PSYCHIATRY}


def test_an_organisation_sees_itself_and_those_an_active_consent_opens_to_it() -> None:
    def open_to(age: int, *consents: ConsentFacts) -> frozenset[str]:
        return organisations_open_to(
            caller_gln=PPR, caller=S.PPR, owners=OWNERS, age=age, consents=consents, now=NOW
        )

    assert open_to(10) == {PPR}
    assert open_to(10, facts(R.CUSTODIAL_PARENT, S.PPR, S.PSYCHIATRY)) == {PPR, BUP, BUP2}
    # a consent between two other sectors opens nothing to PPR
    assert open_to(10, facts(R.CUSTODIAL_PARENT, S.FAMILY, S.PSYCHIATRY)) == {PPR}
    revoked = facts(R.CUSTODIAL_PARENT, S.PPR, S.FAMILY, revoked_at=NOW - timedelta(hours=1))
    assert open_to(10, revoked) == {PPR}
    # judged as the overview judges: from 15 health data needs the young person's own word
    parents = facts(R.CUSTODIAL_PARENT, S.PPR, S.FAMILY, S.GP)
    assert open_to(16, parents) == {PPR, FAMILY}
    assert open_to(16, parents, facts(R.SELF, S.PPR, S.GP)) == {PPR, FAMILY, GP}
    # an organisation that is not among the owners is never open
    assert "unknown-gln" not in open_to(10, facts(R.CUSTODIAL_PARENT, *S))


@pytest.mark.parametrize(
    ("recorded_by", "sectors", "organisations", "active", "listed"),
    [
        (PPR, {S.FAMILY}, set(), False, Listed.IN_FULL),  # its own record, whatever it names
        (BUP, {S.PPR, S.PSYCHIATRY}, set(), True, Listed.IN_FULL),  # covers the caller
        (BUP, {S.PPR, S.PSYCHIATRY}, set(), False, Listed.WITHOUT_NAMES),  # not in force
        (BUP, {S.PSYCHIATRY}, {PPR}, True, Listed.IN_FULL),  # names the caller itself
        (BUP, {S.PSYCHIATRY}, {PPR}, False, Listed.WITHOUT_NAMES),
        (BUP, {S.PSYCHIATRY, S.GP}, set(), True, Listed.LEFT_OUT),  # names neither
        (BUP, {S.PSYCHIATRY}, {FAMILY}, True, Listed.LEFT_OUT),  # names another organisation
    ],
)
def test_a_caller_lists_its_own_consents_and_those_naming_it(
    recorded_by: str, sectors: set[S], organisations: set[str], active: bool, listed: Listed
) -> None:
    assert (
        listing(
            caller_gln=PPR,
            caller=S.PPR,
            recorded_by=recorded_by,
            sectors=sectors,
            organisations=organisations,
            active=active,
        )
        is listed
    )
