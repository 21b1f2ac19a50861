"""The consent rule as pure functions: active, covering both organisations (by sector or by
name), whose word counts by age, the owner's dispute, and the hub's policy on attested and
verified consents; which organisations a caller may see; how a consent appears in a caller's
consent list."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from coordinator.errors import ConfigError
from coordinator.index.consent import (
    ConsentFacts,
    ConsentPolicy,
    Listed,
    Missing,
    Party,
    accepted_relations,
    age_on,
    age_rule,
    covers,
    is_active,
    is_disputed_by,
    judge,
    listing,
    may_record,
    organisations_open_to,
    relation_counts,
    sector_verdicts,
)
from coordinator.index.tables import ConsentRelation as R
from coordinator.index.tables import ConsentVerification as V
from coordinator.settings import Settings
from coordinator.tables import Sector as S
from messages.identifiers import parse_cpr

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
PPR = Party(S.PPR, "5790000020010")
AALBORG_FAMILY = Party(S.FAMILY, "5790000030011")
THISTED_FAMILY = Party(S.FAMILY, "5790000030028")
BUP = Party(S.PSYCHIATRY, "5790000040012")
GP = Party(S.GP, "5790000010019")


def facts(relation: R, *sectors: S, **extra: Any) -> ConsentFacts:
    """A consent given yesterday by ``relation`` for ``sectors``; ``extra`` sets the rest
    (times, verification, organisations, recorder, disputes)."""
    values: dict[str, Any] = {
        "valid_from": NOW - timedelta(days=1),
        "valid_until": None,
        "revoked_at": None,
        "id": uuid.uuid4(),
        "recorder": PPR.gln,
        "recorder_sector": S.PPR,
        "recorded_at": NOW - timedelta(days=1),
    }
    values.update(extra)
    return ConsentFacts(relation=relation, sectors=frozenset(sectors), **values)


def verdict(caller: Party, owner: Party, *consents: ConsentFacts, age: int = 9, **kw: Any) -> Any:
    return judge(caller=caller, owner=owner, age=age, consents=consents, now=NOW, **kw)


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
    assert relation_counts(facts(R.SELF, owner), age, owner) is (R.SELF in accepted)


def test_active_means_started_not_ended_not_revoked() -> None:
    assert is_active(facts(R.SELF, S.PPR), NOW)
    assert not is_active(facts(R.SELF, S.PPR, valid_from=NOW + timedelta(seconds=1)), NOW)
    assert not is_active(facts(R.SELF, S.PPR, valid_until=NOW), NOW)
    assert not is_active(facts(R.SELF, S.PPR, revoked_at=NOW), NOW)
    assert is_active(facts(R.SELF, S.PPR, revoked_at=NOW + timedelta(hours=1)), NOW)


def test_a_consent_must_cover_both_organisations() -> None:
    given = facts(R.CUSTODIAL_PARENT, S.PPR, S.FAMILY)
    assert verdict(PPR, AALBORG_FAMILY, given) is given
    assert verdict(AALBORG_FAMILY, PPR, given) is given
    assert verdict(BUP, PPR, given) is Missing.NO_CONSENT
    assert verdict(PPR, BUP, given) is Missing.NO_CONSENT
    assert verdict(PPR, Party(S.PPR, "5790000020027"), given) is given  # another PPR


def test_a_consent_naming_an_organisation_covers_it_and_not_its_neighbours() -> None:
    aalborg_only = facts(R.CUSTODIAL_PARENT, S.PPR, organisations=frozenset({AALBORG_FAMILY.gln}))
    assert covers(aalborg_only, AALBORG_FAMILY)
    assert not covers(aalborg_only, THISTED_FAMILY)
    assert not covers(aalborg_only, Party(S.FAMILY))  # a generic family department
    assert verdict(PPR, AALBORG_FAMILY, aalborg_only) is aalborg_only
    assert verdict(AALBORG_FAMILY, PPR, aalborg_only) is aalborg_only
    assert verdict(PPR, THISTED_FAMILY, aalborg_only) is Missing.NO_CONSENT
    assert verdict(THISTED_FAMILY, PPR, aalborg_only) is Missing.NO_CONSENT
    # a consent of named organisations only: the two of them share, nobody else
    pair = facts(R.CUSTODIAL_PARENT, organisations=frozenset({PPR.gln, AALBORG_FAMILY.gln}))
    assert verdict(PPR, AALBORG_FAMILY, pair) is pair
    assert verdict(Party(S.PPR, "5790000020027"), AALBORG_FAMILY, pair) is Missing.NO_CONSENT


def test_the_default_policy_opens_municipal_data_on_an_attested_consent_only() -> None:
    everyone = (S.PPR, S.FAMILY, S.PSYCHIATRY, S.GP)
    attested = facts(R.CUSTODIAL_PARENT, *everyone)  # recorded by PPR on a caseworker's word
    assert verdict(PPR, AALBORG_FAMILY, attested) is attested
    assert verdict(BUP, PPR, attested) is attested
    assert verdict(PPR, BUP, attested) is Missing.VERIFIED_CONSENT_NEEDED
    assert verdict(PPR, GP, attested) is Missing.VERIFIED_CONSENT_NEEDED
    assert verdict(BUP, GP, attested) is Missing.VERIFIED_CONSENT_NEEDED

    verified = facts(R.CUSTODIAL_PARENT, *everyone, verification=V.VERIFIED)
    assert verdict(PPR, BUP, verified) is verified
    assert verdict(PPR, GP, verified) is verified

    by_psychiatry = facts(
        R.CUSTODIAL_PARENT, *everyone, recorder=BUP.gln, recorder_sector=S.PSYCHIATRY
    )
    assert verdict(PPR, BUP, by_psychiatry) is by_psychiatry  # its own sector's word
    assert verdict(PPR, Party(S.PSYCHIATRY, "5790000040029"), by_psychiatry) is by_psychiatry
    assert verdict(PPR, GP, by_psychiatry) is Missing.VERIFIED_CONSENT_NEEDED


def test_a_policy_may_let_attested_consents_open_more_or_less() -> None:
    attested = facts(R.CUSTODIAL_PARENT, S.PPR, S.FAMILY, S.PSYCHIATRY)
    health_too = ConsentPolicy(attested_opens=frozenset(S))
    assert verdict(PPR, BUP, attested, policy=health_too) is attested
    nothing = ConsentPolicy(attested_opens=frozenset())
    assert verdict(BUP, AALBORG_FAMILY, attested, policy=nothing) is (
        Missing.VERIFIED_CONSENT_NEEDED
    )
    assert verdict(BUP, PPR, attested, policy=nothing) is attested  # recorded by PPR itself
    assert health_too.accepts(attested, S.GP)
    assert not nothing.accepts(attested, S.FAMILY)
    assert nothing.accepts(facts(R.SELF, S.GP, verification=V.VERIFIED), S.FAMILY)


def test_a_dispute_closes_only_the_disputing_owners_data() -> None:
    everyone = (S.PPR, S.FAMILY, S.PSYCHIATRY)
    disputed = facts(R.CUSTODIAL_PARENT, *everyone, disputed_by=frozenset({BUP.gln}))
    health_too = ConsentPolicy(attested_opens=frozenset(S))
    assert is_disputed_by(disputed, BUP)
    assert not is_disputed_by(disputed, Party(S.PSYCHIATRY))  # a generic one disputes nothing
    assert verdict(PPR, BUP, disputed, policy=health_too) is Missing.DISPUTED
    assert verdict(PPR, Party(S.PSYCHIATRY, "5790000040029"), disputed, policy=health_too) is (
        disputed
    )
    assert verdict(BUP, PPR, disputed) is disputed  # the disputer still sees the others
    assert verdict(AALBORG_FAMILY, PPR, disputed) is disputed
    # another consent the owner has not disputed still opens its data
    other = facts(R.CUSTODIAL_PARENT, S.PPR, S.PSYCHIATRY, verification=V.VERIFIED)
    assert verdict(PPR, BUP, disputed, other, policy=health_too) is other


def test_the_consent_that_opens_is_a_verified_one_then_the_earliest_recorded() -> None:
    early = facts(R.CUSTODIAL_PARENT, S.PPR, S.FAMILY, recorded_at=NOW - timedelta(days=9))
    late = facts(R.CUSTODIAL_PARENT, S.PPR, S.FAMILY, recorded_at=NOW - timedelta(days=1))
    verified = facts(R.CUSTODIAL_PARENT, S.PPR, S.FAMILY, verification=V.VERIFIED, recorded_at=NOW)
    assert verdict(PPR, AALBORG_FAMILY, late, early) is early
    assert verdict(PPR, AALBORG_FAMILY, late, early, verified) is verified
    revoked_early = facts(
        R.CUSTODIAL_PARENT, S.PPR, S.FAMILY, recorded_at=NOW - timedelta(days=9), revoked_at=NOW
    )
    assert verdict(PPR, AALBORG_FAMILY, late, revoked_early) is late


def test_the_age_rule_explains_what_is_missing() -> None:
    parent = facts(R.CUSTODIAL_PARENT, S.PPR, S.PSYCHIATRY, verification=V.VERIFIED)
    own = facts(R.SELF, S.PPR, S.PSYCHIATRY, verification=V.VERIFIED)
    assert verdict(PPR, BUP, parent, age=15) is Missing.OWN_CONSENT_NEEDED
    assert verdict(BUP, PPR, parent, age=15) is parent
    assert verdict(PPR, BUP, own, age=14) is Missing.PARENT_CONSENT_NEEDED
    # the age rule is named before the policy: a wrong relation is the first thing to fix
    attested_parent = facts(R.CUSTODIAL_PARENT, S.PPR, S.PSYCHIATRY)
    assert verdict(PPR, BUP, attested_parent, age=15) is Missing.OWN_CONSENT_NEEDED
    assert "under 15" in age_rule(14)
    assert "from 15" in age_rule(15)
    assert "own consent" in age_rule(18)


def test_the_sector_map_is_judged_for_an_organisation_no_consent_names() -> None:
    parent = facts(R.CUSTODIAL_PARENT, S.PPR, S.PSYCHIATRY, verification=V.VERIFIED)
    own = facts(R.SELF, S.PPR, S.PSYCHIATRY, verification=V.VERIFIED)
    verdicts = sector_verdicts(caller=PPR, age=16, consents=[parent, own], now=NOW)
    assert verdicts == {S.PPR: None, S.FAMILY: Missing.NO_CONSENT, S.PSYCHIATRY: None, S.GP: (
        Missing.NO_CONSENT
    )}  # fmt: skip
    # naming Aalborg's family department or a psychiatry's dispute changes nothing in the map:
    # it must not tell the caller who is involved
    named = facts(
        R.CUSTODIAL_PARENT,
        S.PPR,
        S.PSYCHIATRY,
        organisations=frozenset({AALBORG_FAMILY.gln}),
        verification=V.VERIFIED,
        disputed_by=frozenset({BUP.gln}),
    )
    assert sector_verdicts(caller=PPR, age=9, consents=[named], now=NOW) == {
        S.PPR: None,
        S.FAMILY: Missing.NO_CONSENT,
        S.PSYCHIATRY: None,
        S.GP: Missing.NO_CONSENT,
    }
    attested = facts(R.CUSTODIAL_PARENT, *S)
    assert sector_verdicts(caller=PPR, age=9, consents=[attested], now=NOW) == {
        S.PPR: None,
        S.FAMILY: None,
        S.PSYCHIATRY: Missing.VERIFIED_CONSENT_NEEDED,
        S.GP: Missing.VERIFIED_CONSENT_NEEDED,
    }


def test_who_may_record_a_consent() -> None:
    assert not may_record(R.SELF, 14)
    assert may_record(R.SELF, 15)
    assert may_record(R.CUSTODIAL_PARENT, 17)
    assert not may_record(R.GUARDIAN, 18)


def test_the_policy_setting_is_read_and_checked() -> None:
    assert Settings.from_env({}).attested_opens == {S.PPR, S.FAMILY}
    opens = {"SAMSPIL_ATTESTED_CONSENT_OPENS": " ppr, psychiatry ,gp"}
    assert Settings.from_env(opens).attested_opens == {S.PPR, S.PSYCHIATRY, S.GP}
    assert Settings.from_env({"SAMSPIL_ATTESTED_CONSENT_OPENS": ""}).attested_opens == set()
    for bad in ("ppr,school", "PPR", "ppr;family"):
        with pytest.raises(ConfigError, match="SAMSPIL_ATTESTED_CONSENT_OPENS"):
            Settings.from_env({"SAMSPIL_ATTESTED_CONSENT_OPENS": bad})


BUP2 = Party(S.PSYCHIATRY, "5790000040029")
OWNERS = {p.gln: p.sector for p in (PPR, AALBORG_FAMILY, THISTED_FAMILY, BUP, GP, BUP2) if p.gln}


def open_to(age: int, *consents: ConsentFacts, **kw: Any) -> frozenset[str]:
    return organisations_open_to(
        caller=PPR, owners=OWNERS, age=age, consents=consents, now=NOW, **kw
    )


def test_an_organisation_sees_itself_and_those_a_consent_opens_to_it() -> None:
    everyone = {PPR.gln, AALBORG_FAMILY.gln, THISTED_FAMILY.gln}
    assert open_to(10) == {PPR.gln}
    verified = facts(R.CUSTODIAL_PARENT, S.PPR, S.PSYCHIATRY, verification=V.VERIFIED)
    assert open_to(10, verified) == {PPR.gln, BUP.gln, BUP2.gln}
    # a consent between two other sectors opens nothing to PPR
    others = facts(R.CUSTODIAL_PARENT, S.FAMILY, S.PSYCHIATRY, verification=V.VERIFIED)
    assert open_to(10, others) == {PPR.gln}
    revoked = facts(R.CUSTODIAL_PARENT, S.PPR, S.FAMILY, revoked_at=NOW - timedelta(hours=1))
    assert open_to(10, revoked) == {PPR.gln}
    # judged as the overview judges: from 15 health data needs the young person's own word
    parents = facts(R.CUSTODIAL_PARENT, S.PPR, S.FAMILY, S.GP, verification=V.VERIFIED)
    assert open_to(16, parents) == everyone
    own = facts(R.SELF, S.PPR, S.GP, verification=V.VERIFIED)
    assert open_to(16, parents, own) == everyone | {GP.gln}
    # an organisation that is not among the owners is never open
    assert "unknown-gln" not in open_to(10, facts(R.CUSTODIAL_PARENT, *S, verification=V.VERIFIED))


def test_whom_an_answer_may_name_is_judged_per_owner_with_policy_and_disputes() -> None:
    # scope by named organisation: Aalborg's family department, not Thisted's
    named = facts(R.CUSTODIAL_PARENT, S.PPR, organisations=frozenset({AALBORG_FAMILY.gln}))
    assert open_to(10, named) == {PPR.gln, AALBORG_FAMILY.gln}
    # an attested consent opens health data only where the hub's policy says so
    attested = facts(R.CUSTODIAL_PARENT, S.PPR, S.PSYCHIATRY)
    assert open_to(10, attested) == {PPR.gln}
    policy = ConsentPolicy(attested_opens=frozenset(S))
    assert open_to(10, attested, policy=policy) == {PPR.gln, BUP.gln, BUP2.gln}
    # an owner that disputed the consent is closed to it; the other psychiatry is not
    disputed = facts(
        R.CUSTODIAL_PARENT,
        S.PPR,
        S.PSYCHIATRY,
        verification=V.VERIFIED,
        disputed_by=frozenset({BUP.gln}),
    )
    assert open_to(10, disputed) == {PPR.gln, BUP2.gln}


@pytest.mark.parametrize(
    ("recorded_by", "sectors", "organisations", "active", "listed"),
    [
        (PPR.gln, {S.FAMILY}, set(), False, Listed.IN_FULL),  # its own record, whatever it names
        (BUP.gln, {S.PPR, S.PSYCHIATRY}, set(), True, Listed.IN_FULL),  # covers the caller
        (BUP.gln, {S.PPR, S.PSYCHIATRY}, set(), False, Listed.WITHOUT_NAMES),  # not in force
        (BUP.gln, {S.PSYCHIATRY}, {PPR.gln}, True, Listed.IN_FULL),  # names the caller itself
        (BUP.gln, {S.PSYCHIATRY}, {PPR.gln}, False, Listed.WITHOUT_NAMES),
        (BUP.gln, {S.PSYCHIATRY, S.GP}, set(), True, Listed.LEFT_OUT),  # names neither
        (BUP.gln, {S.PSYCHIATRY}, {AALBORG_FAMILY.gln}, True, Listed.LEFT_OUT),  # another org
    ],
)
def test_a_caller_lists_its_own_consents_and_those_naming_it(
    recorded_by: str, sectors: set[S], organisations: set[str], active: bool, listed: Listed
) -> None:
    assert PPR.gln is not None
    assert (
        listing(
            caller_gln=PPR.gln,
            caller=S.PPR,
            recorded_by=recorded_by,
            sectors=sectors,
            organisations=organisations,
            active=active,
        )
        is listed
    )
