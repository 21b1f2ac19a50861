"""What one consent opens, judged by the consent rule: per sector it names, to a caller of
one sector, and what an attested consent recorded now would open by relation (the consent
form's preview). Each is the overview's own judgement — the age rule and the hub's policy
on attested consents — applied to one consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from coordinator.index.consent import (
    ConsentFacts,
    ConsentPolicy,
    Missing,
    Party,
    opened_to,
    opens,
    sector_verdicts,
    would_open,
)
from coordinator.index.tables import ConsentRelation as R
from coordinator.index.tables import ConsentVerification as V
from coordinator.tables import Sector as S

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
EVERY = frozenset(S)


def facts(
    relation: R,
    sectors: frozenset[S] = EVERY,
    *,
    verification: V = V.VERIFIED,
    recorder: S = S.PPR,
    **times: datetime,
) -> ConsentFacts:
    return ConsentFacts(
        relation=relation,
        sectors=sectors,
        valid_from=times.get("valid_from", NOW - timedelta(days=1)),
        valid_until=times.get("valid_until"),
        revoked_at=times.get("revoked_at"),
        verification=verification,
        recorder_sector=recorder,
    )


def test_a_parents_consent_for_a_17_year_old_opens_no_health_data() -> None:
    assert opens(facts(R.CUSTODIAL_PARENT), age=17, now=NOW) == {
        S.PPR: None,
        S.FAMILY: None,
        S.PSYCHIATRY: Missing.OWN_CONSENT_NEEDED,
        S.GP: Missing.OWN_CONSENT_NEEDED,
    }
    assert set(opens(facts(R.SELF), age=17, now=NOW).values()) == {None}


def test_an_attested_consent_opens_health_data_only_as_the_policy_says() -> None:
    at_ppr = facts(R.CUSTODIAL_PARENT, verification=V.ATTESTED, recorder=S.PPR)
    assert opens(at_ppr, age=9, now=NOW) == {
        S.PPR: None,
        S.FAMILY: None,
        S.PSYCHIATRY: Missing.VERIFIED_CONSENT_NEEDED,
        S.GP: Missing.VERIFIED_CONSENT_NEEDED,
    }
    at_psychiatry = facts(R.CUSTODIAL_PARENT, verification=V.ATTESTED, recorder=S.PSYCHIATRY)
    assert opens(at_psychiatry, age=9, now=NOW)[S.PSYCHIATRY] is None  # its own sector's
    everything = ConsentPolicy(attested_opens=EVERY)
    assert set(opens(at_ppr, age=9, now=NOW, policy=everything).values()) == {None}


def test_a_consent_opens_only_the_sectors_it_names_and_nothing_once_revoked() -> None:
    named = frozenset({S.PPR, S.GP})
    assert opens(facts(R.CUSTODIAL_PARENT, named), age=9, now=NOW) == {S.PPR: None, S.GP: None}
    revoked = facts(R.CUSTODIAL_PARENT, named, revoked_at=NOW - timedelta(minutes=1))
    assert opens(revoked, age=9, now=NOW) == {S.PPR: Missing.NO_CONSENT, S.GP: Missing.NO_CONSENT}


def test_what_a_consent_opens_to_a_caller_is_what_the_overview_shows_it() -> None:
    parent = facts(R.CUSTODIAL_PARENT, frozenset({S.PPR, S.PSYCHIATRY}), verification=V.ATTESTED)
    for sector in S:
        caller = Party(sector)
        verdicts = sector_verdicts(caller=caller, age=16, consents=[parent], now=NOW)
        shown = frozenset(s for s, v in verdicts.items() if v is None)
        assert opened_to(caller, parent, age=16, now=NOW) == shown
    assert opened_to(Party(S.PSYCHIATRY), parent, age=16, now=NOW) == {S.PPR}
    assert opened_to(Party(S.FAMILY), parent, age=16, now=NOW) == frozenset()  # not covered


def test_the_form_is_offered_only_the_relations_that_may_consent_at_the_age() -> None:
    assert set(would_open(recorder=S.PPR, age=14, now=NOW)) == {R.CUSTODIAL_PARENT, R.GUARDIAN}
    assert set(would_open(recorder=S.PPR, age=15, now=NOW)) == set(R)
    assert set(would_open(recorder=S.PPR, age=18, now=NOW)) == {R.SELF}
    at_15 = would_open(recorder=S.PPR, age=15, now=NOW)
    assert at_15[R.GUARDIAN][S.GP] is Missing.OWN_CONSENT_NEEDED  # the age rule first
    assert at_15[R.GUARDIAN][S.FAMILY] is None
    assert at_15[R.SELF] == {  # then the policy: PPR's word does not open health data
        S.PPR: None,
        S.FAMILY: None,
        S.PSYCHIATRY: Missing.VERIFIED_CONSENT_NEEDED,
        S.GP: Missing.VERIFIED_CONSENT_NEEDED,
    }
    assert would_open(recorder=S.GP, age=15, now=NOW)[R.SELF][S.GP] is None
