"""Table-driven tests of the default contract rules, at and around each boundary."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ecm.domain.deadlines import END_OF_TIME
from ecm.domain.judgement import Judgement, judge
from ecm.domain.kpis import visit_measures
from ecm.domain.outcome import VisitStatus
from ecm.domain.pay import call_pay, visit_pay
from ecm.domain.punctuality import Punctuality, classify
from ecm.domain.reference import RateCard, Validity
from ecm.domain.visit import VisitState

from .builders import T0, at, cancelled, check_in, check_out, corrected, planned, reference


def derive(state: VisitState, ref, watermark, inclusive: bool = False) -> Judgement:
    return judge(state.facts(), state.alerts, ref, watermark, inclusive)


def outcome_of(*events, ref=None, watermark=END_OF_TIME):
    state = VisitState("V1")
    for e in events:
        state.apply(e)
    result = derive(state, ref or reference(), watermark, inclusive=True)
    return result.outcome, {e.kind.value for e in result.exceptions}, result


@pytest.mark.parametrize(
    ("offset_minutes", "expected"),
    [
        (-16, Punctuality.EARLY),
        (-15.01, Punctuality.EARLY),
        (-15, Punctuality.ON_TIME),
        (0, Punctuality.ON_TIME),
        (15, Punctuality.ON_TIME),
        (15.01, Punctuality.LATE),
        (16, Punctuality.LATE),
    ],
)
def test_check_in_against_planned_start_is_early_on_time_or_late(offset_minutes, expected):
    assert classify(at(offset_minutes), T0, 15) is expected


def test_check_in_exactly_15_minutes_after_start_is_on_time():
    outcome, _, _ = outcome_of(planned(), check_in(15), check_out(60))
    assert outcome.punctuality is Punctuality.ON_TIME and outcome.lateness_seconds == 900


def test_check_in_16_minutes_after_start_is_late():
    outcome, _, _ = outcome_of(planned(), check_in(16), check_out(60))
    assert outcome.punctuality is Punctuality.LATE and outcome.lateness_seconds == 960


def test_check_in_16_minutes_before_start_is_early_with_no_lateness():
    outcome, _, _ = outcome_of(planned(), check_in(-16), check_out(60))
    assert outcome.punctuality is Punctuality.EARLY and outcome.lateness_seconds == 0


CARD = RateCard(Validity(date(2026, 1, 1)), "RC", None, "L1", "home_care", "standard",
                Decimal("20.00"))


@pytest.mark.parametrize(
    ("minutes", "pounds"),
    [
        (10, "12.00"),  # up to 30 min: 0.60 x rate
        (30, "12.00"),
        (31, "16.00"),  # up to 45 min: 0.80 x rate
        (45, "16.00"),
        (46, "20.00"),  # above 45: quarter hours rounded up -> 60
        (60, "20.00"),
        (61, "25.00"),  # -> 75 minutes
        (75, "25.00"),
        (76, "30.00"),
    ],
)
def test_pay_on_actuals_by_call_length(minutes, pounds):
    assert visit_pay(24 * 3600, [minutes * 60], CARD, None) == Decimal(pounds)


def test_paid_minutes_are_the_lesser_of_planned_and_actual():
    assert visit_pay(30 * 60, [60 * 60], CARD, None) == Decimal("12.00")


def test_rurality_weighting_multiplies_pay():
    card = RateCard(Validity(date(2026, 1, 1)), "RC", None, "L1", "home_care", "standard",
                    Decimal("21.00"), {"rural_village_dispersed": Decimal("1.10")})
    assert call_pay(45 * 60, card, "rural_village_dispersed") == Decimal("18.4800")
    assert call_pay(45 * 60, card, "urban") == Decimal("16.80")


def test_double_handed_visit_pays_each_carer():
    outcome, _, _ = outcome_of(planned(minutes=60, carers=2), check_in(0, "K1"),
                               check_out(60, "K1"), check_in(0, "K2"), check_out(30, "K2"))
    assert outcome.payable == Decimal("33.60")  # 21.00 + 0.60 x 21
    assert outcome.delivered_seconds == 90 * 60


def test_pay_rounds_half_up_to_the_penny_once_per_visit():
    card = RateCard(Validity(date(2026, 1, 1)), "RC", None, "L1", "home_care", "standard",
                    Decimal("20.0125"))
    assert visit_pay(3600, [1800], card, None) == Decimal("12.01")  # 12.0075 -> 12.01


def test_off_framework_provider_card_takes_precedence_over_framework_card():
    ref = reference(rate="21.00")
    ref.add(RateCard(Validity(date(2026, 1, 1), event_id="own"), "RC-P1", "P1", "L1",
                     "home_care", "standard", Decimal("30.00")))
    outcome, _, _ = outcome_of(planned(), check_in(0), check_out(60), ref=ref)
    assert outcome.payable == Decimal("30.00")


def test_missed_visit_pays_nothing():
    outcome, kinds, _ = outcome_of(planned())
    assert outcome.status is VisitStatus.MISSED and outcome.payable == 0
    assert "no_check_in" in kinds


def test_unverified_visit_pays_nothing_until_checked_out():
    outcome, kinds, _ = outcome_of(planned(), check_in(0))
    assert outcome.status is VisitStatus.NO_CHECKOUT and outcome.payable == 0
    assert "no_check_out" in kinds
    later, _, _ = outcome_of(planned(), check_in(0), check_out(60))
    assert later.payable == Decimal("21.00")


def test_manual_entry_is_payable_but_flagged():
    outcome, kinds, _ = outcome_of(planned(), check_in(0, method="manual"), check_out(60))
    assert outcome.payable == Decimal("21.00") and outcome.manual_entry
    assert not outcome.electronic and "manual_entry" in kinds


@pytest.mark.parametrize(
    ("delivered_minutes", "short"), [(47, True), (48, False), (60, False)]
)
def test_short_visit_is_verified_time_below_80_percent_of_planned(delivered_minutes, short):
    outcome, kinds, _ = outcome_of(planned(), check_in(0), check_out(delivered_minutes))
    assert outcome.short is short and ("short_visit" in kinds) is short


@pytest.mark.parametrize(
    ("by", "minute", "status"),
    [
        ("client", -1, VisitStatus.CANCELLED),
        ("council", -60, VisitStatus.CANCELLED),
        ("hospital_admission", -5, VisitStatus.CANCELLED),
        ("hospital_admission", 10, VisitStatus.CANCELLED),
        ("client", 0, VisitStatus.MISSED),  # not before the planned start
        ("provider", -60, VisitStatus.MISSED),
    ],
)
def test_cancellation_by_whom_and_when(by, minute, status):
    outcome, _, _ = outcome_of(planned(), cancelled(by, minute))
    assert outcome.status is status


def test_double_handed_visit_with_one_carer_is_single_handed():
    outcome, kinds, _ = outcome_of(planned(carers=2), check_in(0), check_out(60))
    assert outcome.single_handed and "single_handed" in kinds


def test_double_handed_visit_with_both_carers_is_not_single_handed():
    outcome, _, _ = outcome_of(planned(carers=2), check_in(0), check_out(60),
                               check_in(1, "K2"), check_out(60, "K2"))
    assert not outcome.single_handed


@pytest.mark.parametrize(("metres_north", "flagged"), [(0.0, False), (0.00224, False),
                                                       (0.00227, True)])
def test_app_check_in_more_than_250_m_away_is_flagged(metres_north, flagged):
    outcome, kinds, _ = outcome_of(planned(), check_in(0, lat=51.2 + metres_north, lon=1.0),
                                   check_out(60))
    assert ("gps_distance" in kinds) is flagged
    assert outcome.max_distance_m is not None


def test_correction_keeps_the_original_capture_and_counts_the_corrected_time():
    outcome, kinds, result = outcome_of(planned(), check_in(0), check_out(20),
                                        corrected(False, 60, 180))
    assert outcome.delivered_seconds == 3600 and outcome.manual_entry
    (audit,) = outcome.corrections
    assert (audit.original, audit.corrected) == (at(20), at(60))
    assert (audit.corrected_by, audit.corrected_at) == ("OFFICE1", at(180))
    assert "manual_entry" in kinds


@pytest.mark.parametrize(("minutes", "implausible"), [(24 * 60, False), (24 * 60 + 1, True)])
def test_visit_over_24_hours_is_implausible(minutes, implausible):
    outcome, kinds, _ = outcome_of(planned(), check_in(0), check_out(minutes))
    assert ("implausible_duration" in kinds) is implausible
    assert (outcome.status is VisitStatus.UNVERIFIED) is implausible


def test_check_out_before_check_in_is_implausible_and_unpaid():
    outcome, kinds, _ = outcome_of(planned(), check_in(30), check_out(10))
    assert "implausible_duration" in kinds and outcome.payable == 0


@pytest.mark.parametrize(("out_minute", "early"), [(44, True), (45, False), (60, False)])
def test_check_out_more_than_15_minutes_before_planned_end_is_early_out(out_minute, early):
    _, kinds, _ = outcome_of(planned(), check_in(0), check_out(out_minute))
    assert ("early_out" in kinds) is early


def test_unscheduled_visit_is_kept_with_an_exception():
    state = VisitState("U1")
    state.apply(check_in(0, visit="U1"))
    state.apply(check_out(30, visit="U1"))
    result = derive(state, reference(), END_OF_TIME, inclusive=True)
    assert result.outcome is not None and not result.outcome.scheduled
    assert result.outcome.delivered_seconds == 1800 and result.outcome.service == "home_care"
    assert [e.kind.value for e in result.exceptions] == ["unscheduled_visit"]


def test_unknown_client_and_unknown_carer_are_exceptions():
    _, kinds, _ = outcome_of(planned(client="C9"), check_in(0, carer="K9", client="C9"),
                             check_out(60, carer="K9", client="C9"))
    assert {"unknown_client", "unknown_carer"} <= kinds


def test_call_naming_another_client_is_a_client_mismatch():
    _, kinds, _ = outcome_of(planned(), check_in(0, client="C2"), check_out(60, client="C2"))
    assert "client_mismatch" in kinds


def test_same_fact_with_a_new_event_id_is_a_duplicate_and_changes_nothing_else():
    base, _, _ = outcome_of(planned(), check_in(0), check_out(60))
    again, kinds, _ = outcome_of(planned(), check_in(0), check_in(0, eid="resent"), check_out(60))
    # Only the trust score counts it (docs/rules.md, "Trust score").
    assert "duplicate_event" in kinds and replace(again, trust=base.trust) == base
    added = set(again.trust.deductions) - set(base.trust.deductions)
    assert [d.reason.value for d in added] == ["duplicate_call"]


def test_change_or_cancellation_of_a_visit_nobody_planned_is_an_unknown_visit():
    state = VisitState("V1")
    state.apply(cancelled("client", -60))
    result = derive(state, reference(), END_OF_TIME)
    assert result.outcome is None and [e.kind.value for e in result.exceptions] == [
        "unknown_visit"]


def test_visit_without_a_rate_card_raises_no_rate_card():
    ref = reference()
    ref.rate_cards = type(ref.rate_cards)()
    _, kinds, _ = outcome_of(planned(), check_in(0), check_out(60), ref=ref)
    assert "no_rate_card" in kinds


def test_no_checkout_status_follows_the_watermark_not_a_clock():
    events = (planned(), check_in(0))
    assert outcome_of(*events, watermark=at(119))[0].status is VisitStatus.IN_PROGRESS
    assert outcome_of(*events, watermark=at(120))[0].status is VisitStatus.NO_CHECKOUT


@pytest.mark.parametrize(
    ("carers_required", "carers_in", "completed", "single_handed"),
    [
        (1, 1, True, False),
        (2, 2, True, False),
        (2, 1, False, True),  # one carer alone is a single-handed safety exception
        (3, 2, False, True),
    ],
)
def test_a_visit_is_completed_only_when_every_carer_it_needs_checked_in_and_out(
        carers_required, carers_in, completed, single_handed):
    calls = [e for k in range(carers_in)
             for e in (check_in(0, carer=f"K{k + 1}"), check_out(60, carer=f"K{k + 1}"))]
    outcome, kinds, _ = outcome_of(planned(carers=carers_required), *calls)
    measures = visit_measures(outcome)
    assert (measures.completed, measures.single_handed) == (completed, single_handed)
    assert ("single_handed" in kinds) is single_handed


@pytest.mark.parametrize(
    ("metres_north", "accuracy", "kind"),
    [
        (0.0, None, None),
        (0.0, 20, None),
        (0.00227, None, "gps_distance"),  # ~252 m away, no accuracy reported
        (0.00227, 20, "gps_distance"),
        (0.00227, 250, "gps_distance"),  # accuracy at the limit: the distance still counts
        (0.00227, 251, "location_unverifiable"),  # too vague to say near or far
        (0.0, 600, "location_unverifiable"),
    ],
)
def test_a_fix_less_accurate_than_the_limit_is_location_unverifiable_not_too_far(
        metres_north, accuracy, kind):
    call = check_in(0, lat=51.2 + metres_north, lon=1.0, accuracy=accuracy)
    _, kinds, _ = outcome_of(planned(), call, check_out(60))
    assert kinds & {"gps_distance", "location_unverifiable"} == ({kind} if kind else set())
