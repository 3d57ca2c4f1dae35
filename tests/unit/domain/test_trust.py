"""Table-driven tests of a visit's trust score (docs/rules.md, "Trust score")."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from ecm.domain.deadlines import END_OF_TIME
from ecm.domain.events import StayQuestioned
from ecm.domain.judgement import judge
from ecm.domain.rules import RuleChange
from ecm.domain.trust import DEDUCTIONS, FULL_TRUST, Trust, TrustReason
from ecm.domain.visit import VisitState

from .builders import (
    T0,
    cancelled,
    check_in,
    check_out,
    corrected,
    correction_decided,
    planned,
    reference,
    with_codes,
)

NEAR = (51.2005, 1.0)  # about 56 m from C1's registered location (51.2, 1.0)
FAR = (51.21, 1.0)  # about 1.1 km away
DAYS_8 = 8 * 24 * 60  # minutes: a correction made 8 days after the visit is late


def trust(*events, ref=None) -> Trust:
    state = VisitState("V1")
    for event in events:
        state.apply(event)
    judgement = judge(state.facts(), state.alerts, ref or with_codes(reference()), END_OF_TIME,
                      inclusive=True)
    assert judgement.outcome is not None
    return judgement.outcome.trust


def located(minute: float, carer="K1", where=NEAR, accuracy=10, **kw):
    return check_in(minute, carer, lat=where[0], lon=where[1], accuracy=accuracy, **kw)


def questioned(seq: int, *doubts: tuple[str, str], carer="K1") -> StayQuestioned:
    return StayQuestioned(f"q-{carer}-{seq}", T0, "V1", "P1", carer, seq, doubts)


R = TrustReason
CASES = [
    # (name, events, expected reasons)
    ("app check-in at the client's home, app check-out",
     [planned(), located(0), check_out(60)], []),
    ("nobody called: planned and missed visits are not doubted",
     [planned()], []),
    ("a cancelled visit", [planned(), cancelled("client", -60)], []),
    ("NFC tag in the client's home", [planned(), check_in(0, method="nfc"),
                                      check_out(60, method="nfc")], []),
    ("telephony proves a call, not where", [planned(), check_in(0, method="telephony"),
                                            check_out(60, method="telephony")],
     [R.UNLOCATED_METHOD, R.UNLOCATED_METHOD]),
    ("QR code", [planned(), check_in(0, method="qr"), check_out(60)], [R.UNLOCATED_METHOD]),
    ("manual check-in", [planned(), check_in(0, method="manual"), check_out(60)],
     [R.MANUAL_CHECK_IN]),
    ("manual check-out", [planned(), located(0), check_out(60, method="manual")],
     [R.MANUAL_CHECK_OUT]),
    ("manual in and out", [planned(), check_in(0, method="manual"),
                           check_out(60, method="manual")],
     [R.MANUAL_CHECK_IN, R.MANUAL_CHECK_OUT]),
    ("app check-in without a fix", [planned(), check_in(0), check_out(60)], [R.NO_LOCATION]),
    ("app check-in 1.1 km away", [planned(), located(0, where=FAR), check_out(60)],
     [R.GPS_FAR]),
    ("a fix too vague to tell near from far",
     [planned(), located(0, where=FAR, accuracy=400), check_out(60)], [R.GPS_INACCURATE]),
    ("accuracy exactly at the limit is judged",
     [planned(), located(0, accuracy=250), check_out(60)], []),
    ("a correction the same day", [planned(), located(0), check_out(60),
                                   corrected(False, 55, 120)], [R.CORRECTED_TIME]),
    ("a late correction, held", [planned(), located(0), check_out(60),
                                 corrected(False, 55, DAYS_8)], [R.LATE_CORRECTION]),
    ("a late correction, accepted",
     [planned(), located(0), check_out(60), corrected(False, 55, DAYS_8),
      correction_decided(f"fix-V1-K1-False-{DAYS_8}", DAYS_8 + 60)], [R.LATE_CORRECTION]),
    ("a late correction, refused: it never counts",
     [planned(), located(0), check_out(60), corrected(False, 55, DAYS_8),
      correction_decided(f"fix-V1-K1-False-{DAYS_8}", DAYS_8 + 60, accepted=False)], []),
    ("a duplicate call", [planned(), located(0), located(0, eid="again"), check_out(60)],
     [R.DUPLICATE_CALL]),
    ("the carer was at another client at the same time",
     [planned(), located(0), check_out(60), questioned(1, ("overlap", "V9"))], [R.OVERLAP]),
    ("the carer came from another client faster than travel allows",
     [planned(), located(0), check_out(60), questioned(1, ("faster_than_travel", "V8"))],
     [R.FASTER_THAN_TRAVEL]),
    ("the latest word on the stay counts: a doubt taken back deducts nothing",
     [planned(), located(0), check_out(60), questioned(2), questioned(1, ("overlap", "V9"))],
     []),
    ("both, and one per other visit",
     [planned(), located(0), check_out(60),
      questioned(3, ("overlap", "V9"), ("faster_than_travel", "V8"))],
     [R.OVERLAP, R.FASTER_THAN_TRAVEL]),
    ("each carer of a double-handed visit counts",
     [planned(carers=2), check_in(0, method="manual"), check_in(0, "K2", method="manual"),
      check_out(60), check_out(60, "K2")], [R.MANUAL_CHECK_IN, R.MANUAL_CHECK_IN]),
]


@pytest.mark.parametrize(("events", "reasons"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_each_weakness_of_the_evidence_deducts_its_points(events, reasons):
    result = trust(*events)
    assert sorted(d.reason for d in result.deductions) == sorted(reasons)
    assert result.score == FULL_TRUST - sum(DEDUCTIONS[r] for r in reasons)
    assert all(d.points == DEDUCTIONS[d.reason] for d in result.deductions)


def test_the_score_never_goes_below_zero():
    calls = [e for k in ("K1", "K2", "K3") for e in (
        check_in(0, k, method="manual"), check_out(60, k, method="manual"),
        corrected(True, 5, DAYS_8, carer=k))]
    result = trust(planned(carers=3), *calls)
    assert result.score == 0
    assert sum(d.points for d in result.deductions) > FULL_TRUST


def test_the_distance_limit_is_the_contract_rule_in_force():
    ref = with_codes(reference())
    ref.add(RuleChange("wider", T0.date(), {"gps_distance_limit_m": 2000}, event_id="r1"))
    assert trust(planned(), located(0, where=FAR), check_out(60), ref=ref).score == FULL_TRUST


def test_deductions_come_in_a_stable_order_whatever_the_arrival_order():
    events = [planned(carers=2), check_in(0, "K2", method="manual"), located(0, where=FAR),
              check_out(60, method="qr"), check_out(60, "K2"),
              located(0, where=FAR, eid="again")]
    first = trust(*events)
    assert trust(*reversed(events)) == first
    assert [(d.carer_id, d.reason.value) for d in first.deductions] == [
        ("K1", "duplicate_call"), ("K1", "gps_far"), ("K1", "unlocated_method"),
        ("K2", "manual_check_in")]


def test_a_deduction_names_the_event_it_concerns():
    result = trust(planned(), check_in(0, method="manual", eid="in-1"), check_out(60))
    assert result.deductions == (replace(result.deductions[0], ref="in-1"),)
    assert result.deductions[0].carer_id == "K1"


def test_a_kpi_row_carries_the_mean_trust_score_of_the_visits_that_have_one():
    from ecm.domain.kpis import KpiRow

    state = VisitState("V1")
    for event in (planned(), check_in(0, method="manual"), check_out(60)):
        state.apply(event)
    manual = judge(state.facts(), state.alerts, with_codes(reference()), END_OF_TIME, True)
    assert manual.outcome is not None and manual.outcome.trust is not None
    row = KpiRow(("P1", "L1", "home_care", "2026-W47"))
    row.add(manual.outcome)  # 100 - 25: a manual check-in
    row.add(replace(manual.outcome, visit_id="V2", trust=Trust(100)))
    row.add(replace(manual.outcome, visit_id="V3", trust=None))  # recorded before version 3
    assert (row.trust_assessed, row.trust_sum) == (2, 175)
    assert row.mean_trust_score == Decimal("87.5")


def test_kpis_csv_gives_the_mean_trust_score_to_2_places_half_up_and_empty_without_one():
    from ecm.domain.kpis import KPI_COLUMNS, KpiRow, format_row

    state = VisitState("V1")
    for event in (planned(), check_in(0), check_out(60)):
        state.apply(event)
    outcome = judge(state.facts(), state.alerts, with_codes(reference()), END_OF_TIME, True).outcome
    assert outcome is not None
    column = KPI_COLUMNS.index("mean_trust_score")
    row = KpiRow(("P1", "L1", "home_care", "2026-W47"))
    row.add(replace(outcome, trust=None))  # recorded before version 3: no score
    assert format_row(row)[column] == ""
    for n, score in enumerate((90,) * 7 + (91,)):  # 721 / 8 = 90.125
        row.add(replace(outcome, visit_id=f"V{n}", trust=Trust(score)))
    assert format_row(row)[column] == "90.13"
