"""What a carer's other stays say against a stay reaches its visit and lowers its trust."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from ecm import contracts as c
from ecm.domain.events import StayQuestioned
from ecm.domain.reference import ClientRecord, ReferenceData, Validity
from ecm.replay import run
from ecm.visits import carers as carer_ledger
from ecm.visits.ledger import DictStore
from ecm.visits.translate import visit_event

START = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
# C2 is 11.1 km north of C1: about 38 minutes by the default urban travel rules, so a
# move under 19 minutes is faster than travel allows.
HOMES = {"C1": (51.2, 1.0), "C2": (51.3, 1.0)}


def _reference() -> ReferenceData:
    ref = ReferenceData()
    for client, (lat, lon) in HOMES.items():
        ref.add(ClientRecord(Validity(date(2026, 1, 1), event_id=f"reg-{client}"), client, "L1",
                             "urban", lat, lon))
    return ref


def _call(visit: str, client: str, minutes: int, check_in: bool) -> c.CallEvent:
    kind = c.CarerCheckedIn if check_in else c.CarerCheckedOut
    return kind(event_id=f"{visit}.{'in' if check_in else 'out'}", provider_id="P1",
                visit_id=visit, client_id=client, carer_id="K1", method=c.CheckMethod.NFC,
                occurred_at=START + timedelta(minutes=minutes))


def _fix(visit: str, minutes: int, made: int) -> c.CallTimeCorrected:
    return c.CallTimeCorrected(event_id=f"fix-{visit}", provider_id="P1", visit_id=visit,
                               carer_id="K1", corrects="check_out", reason_code="FORGOT",
                               corrected_by="office", corrected_time=START + timedelta(
                                   minutes=minutes),
                               occurred_at=START + timedelta(minutes=made))


def _said(ledger: carer_ledger.CarerLedger, *calls: c.CallEvent) -> list[StayQuestioned]:
    words: list[StayQuestioned] = []
    for call in calls:
        ledger.on_call(visit_event(call))
        words += ledger.take_whereabouts()
    return words


def test_arriving_at_the_next_client_sooner_than_travel_allows_is_said_to_that_visit() -> None:
    ledger = carer_ledger.CarerLedger(DictStore(), _reference())
    words = _said(ledger, _call("V1", "C1", 0, True), _call("V1", "C1", 60, False),
                  _call("V2", "C2", 62, True), _call("V2", "C2", 90, False))
    assert [(w.visit_id, w.seq, w.doubts) for w in words] == [
        ("V2", 1, (("faster_than_travel", "V1"),))]


def test_a_correction_that_leaves_time_to_travel_takes_the_doubt_back() -> None:
    ledger = carer_ledger.CarerLedger(DictStore(), _reference())
    _said(ledger, _call("V1", "C1", 0, True), _call("V1", "C1", 60, False),
          _call("V2", "C2", 62, True), _call("V2", "C2", 90, False))
    words = _said(ledger, _fix("V1", 30, 120))  # left C1 at 08:30: 32 minutes to travel
    assert [(w.visit_id, w.seq, w.doubts) for w in words] == [("V2", 2, ())]


def test_a_gap_long_enough_for_the_travel_raises_no_doubt() -> None:
    ledger = carer_ledger.CarerLedger(DictStore(), _reference())
    assert _said(ledger, _call("V1", "C1", 0, True), _call("V1", "C1", 60, False),
                 _call("V2", "C2", 85, True), _call("V2", "C2", 120, False)) == []


def test_without_the_clients_homes_no_travel_is_guessed() -> None:
    ledger = carer_ledger.CarerLedger(DictStore(), ReferenceData())
    assert _said(ledger, _call("V1", "C1", 0, True), _call("V1", "C1", 60, False),
                 _call("V2", "C2", 61, True), _call("V2", "C2", 90, False)) == []


def test_overlapping_stays_are_said_to_both_visits() -> None:
    ledger = carer_ledger.CarerLedger(DictStore(), _reference())
    words = _said(ledger, _call("V1", "C1", 0, True), _call("V2", "C2", 30, True),
                  _call("V2", "C2", 50, False), _call("V1", "C1", 60, False))
    assert sorted((w.visit_id, w.doubts) for w in words) == [
        ("V1", (("overlap", "V2"),)), ("V2", (("overlap", "V1"),))]


def test_a_restarted_ledger_says_the_same_words_again_after_a_redelivery() -> None:
    store = DictStore()
    calls = [_call("V1", "C1", 0, True), _call("V1", "C1", 60, False),
             _call("V2", "C2", 62, True), _call("V2", "C2", 90, False)]
    first = _said(carer_ledger.CarerLedger(store, _reference()), *calls)
    for key in store:
        store[key] = bytes(bytearray(store[key]))  # as read back from the changelog
    again = _said(carer_ledger.CarerLedger(store, _reference()), calls[-1])
    assert again == first


def test_a_stored_format_1_entry_is_read_as_nothing_said_yet() -> None:
    store = DictStore()
    ledger = carer_ledger.CarerLedger(store, _reference())
    _said(ledger, _call("V1", "C1", 0, True))
    entry = json.loads(store["K1/V1"])
    store["K1/V1"] = json.dumps({k: entry[k] for k in ("calls", "o", "p", "r")}
                                | {"fmt": 1}).encode()
    words = _said(carer_ledger.CarerLedger(store, _reference()), _call("V1", "C1", 60, False),
                  _call("V2", "C2", 61, True), _call("V2", "C2", 90, False))
    assert [(w.visit_id, w.seq) for w in words] == [("V2", 1)]


def _line(event: c.ContractEvent) -> bytes:
    return c.dump_event(event)


def test_replay_scores_the_visit_the_carer_reached_too_fast_lower() -> None:
    reference = [
        c.ClientRegistered(event_id=f"reg-{client}", occurred_at=START - timedelta(days=30),
                           client_id=client, lot_id="L1", rurality=c.Rurality.URBAN,
                           location=c.Location(lat=lat, lon=lon),
                           effective_from=date(2026, 1, 1))
        for client, (lat, lon) in HOMES.items()]
    plans = [c.VisitPlanned(event_id=f"plan-{v}", occurred_at=START - timedelta(days=7),
                            provider_id="P1", visit_id=v, client_id=client,
                            service=c.Service.HOME_CARE,
                            planned_start=START + timedelta(minutes=start),
                            planned_end=START + timedelta(minutes=start + 30))
             for v, client, start in (("V1", "C1", 0), ("V2", "C2", 60))]
    calls = [_call("V1", "C1", 0, True), _call("V1", "C1", 55, False),
             _call("V2", "C2", 58, True), _call("V2", "C2", 90, False)]
    result = run([_line(e) for e in (*reference, *plans, *calls)])
    outcomes = {o.visit_id: o for o in result.outcomes}
    v1, v2 = outcomes["V1"], outcomes["V2"]
    assert isinstance(v1, c.VisitOutcomeRecordedV3) and isinstance(v2, c.VisitOutcomeRecordedV3)
    assert v1.trust_score == 100 and v1.trust_deductions == ()
    assert [(d.reason, d.points, d.ref) for d in v2.trust_deductions] == [
        ("faster_than_travel", 25, "V1")]
    assert v2.trust_score == 75
    assert v2.occurred_at == START + timedelta(minutes=90)  # still its own last call
