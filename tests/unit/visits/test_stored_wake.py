"""A worker taking partitions over indexes deadlines from the stored wake-ups, decoding no visit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from ecm import contracts as c
from ecm.domain.events import StayQuestioned
from ecm.domain.reference import ReferenceData
from ecm.visits.ledger import DictStore, EncodedVisits, Position
from ecm.visits.ledger import VisitLedger as DomainLedger
from ecm.visits.state import StoredVisit, stored_wake
from ecm.visits.translate import visit_event

from .test_ledger import START, VisitLedger, _plan, _raised, at


def _stored_week(store: EncodedVisits) -> None:
    before = VisitLedger(ReferenceData(), store)
    for n in range(5):
        before.on_event(at(n), _plan(f"V{n}"), None)


def test_the_stored_wake_up_is_the_one_judging_the_visit_gives() -> None:
    raw = DictStore[bytes]()
    _stored_week(EncodedVisits(raw))

    wake = stored_wake(raw["V1"])

    assert wake is not None
    assert wake.wake == (START + timedelta(minutes=30), "not_arrived")
    assert (wake.partition, wake.source, wake.offset) == (0, "visit-events", 1)


def test_indexing_a_taken_over_partition_decodes_no_visit_and_still_fires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw = DictStore[bytes]()
    _stored_week(EncodedVisits(raw))
    decoded: list[bytes] = []
    original = StoredVisit.decode
    monkeypatch.setattr(StoredVisit, "decode", staticmethod(
        lambda value: decoded.append(value) or original(value)))
    after = VisitLedger(ReferenceData(), EncodedVisits(raw))  # a new process, same table

    assert after.rebuild_index({0}) == 5
    assert decoded == []
    assert after.next_deadline(0) == START + timedelta(minutes=30)

    fired = after.on_deadline(at(9, "deadline-commands"), "V3", START + timedelta(minutes=31))
    assert _raised(fired.records) == ["V3:not_arrived"]
    assert len(decoded) == 1  # only the visit that fell due


def test_a_visit_stored_without_its_wake_up_is_judged_to_find_it() -> None:
    raw = DictStore[bytes]()
    _stored_week(EncodedVisits(raw))
    older = json.loads(raw["V2"])
    del older["k"]  # as a format without the key would store it
    raw["V2"] = json.dumps(older).encode()

    after = VisitLedger(ReferenceData(), EncodedVisits(raw))

    assert stored_wake(raw["V2"]) is None
    assert after.rebuild_index({0}) == 5
    assert after.next_deadline(0) == START + timedelta(minutes=30)


def _outcome_status(records: list) -> list[str]:
    return [r.status.value for r in records if r.event_type == "visit_outcome_recorded"]


def test_a_carers_word_reaching_a_taken_over_visit_before_any_tick_keeps_its_clock() -> None:
    raw = DictStore[bytes]()
    before = VisitLedger(ReferenceData(), EncodedVisits(raw))
    before.on_event(at(0), _plan("V1"), None)
    missed = before.on_watermark(at(1), START + timedelta(hours=3))
    assert _outcome_status(missed.records) == ["missed"]

    after = DomainLedger(ReferenceData(), EncodedVisits(raw))  # took the partition over
    word = StayQuestioned(event_id="K1:V1:1", occurred_at=START + timedelta(hours=4),
                          visit_id="V1", provider_id="P1", carer_id="K1", seq=1,
                          doubts=(("overlap", "V9"),))
    judged = after.on_event(at(2, "deadline-commands"), word, None)  # no tick seen yet

    assert "planned" not in _outcome_status(judged.records)


def test_a_partition_taken_back_is_read_from_the_store_not_from_what_was_decoded_before() -> None:
    """Seen in a takeover through the broker: a worker's check-in lost at the next event.

    The worker owned partition 0, gave it up, and decoded its visits again while sweeping
    another partition (every stored key is read); the other owner then checked a carer in;
    taken back, the visit must be the one the store recovered, with the check-in.
    """
    raw = DictStore[bytes]()
    worker = VisitLedger(ReferenceData(), EncodedVisits(raw))
    worker.on_event(at(0), _plan("V1"), None)
    worker.release({0})  # a rebalance gives partition 0 to the other worker
    worker.on_event(Position(1, "visit-events", 0), _plan("V2"), None)
    worker.on_watermark(Position(1, "visit-events", 1), START - timedelta(hours=1), flush=True)

    other = VisitLedger(ReferenceData(), EncodedVisits(raw))  # its writes, as recovered
    other.on_event(at(1), c.CarerCheckedIn(
        event_id="V1.in", occurred_at=START + timedelta(minutes=1), provider_id="P1",
        visit_id="V1", client_id="C1", carer_id="K1", method=c.CheckMethod.NFC), START)

    worker.release({1})  # the other worker stops: partition 0 comes back
    worker.on_event(at(2), c.CarerCheckedOut(
        event_id="V1.out", occurred_at=START + timedelta(minutes=29), provider_id="P1",
        visit_id="V1", client_id="C1", carer_id="K1", method=c.CheckMethod.NFC), START)

    state = worker.state("V1")
    assert state is not None and sorted(state.events) == ["V1.in", "V1.out", "V1.plan"]


def test_beyond_its_cache_size_a_ledger_forgets_decoded_visits_and_loses_nothing() -> None:
    raw = DictStore[bytes]()
    small = DomainLedger(ReferenceData(), EncodedVisits(raw), cache_size=2)
    whole = DomainLedger(ReferenceData(), EncodedVisits(DictStore[bytes]()))
    for ledger in (small, whole):
        for n in range(4):
            ledger.on_event(at(n), visit_event(_plan(f"V{n}")), None)
        ledger.on_event(at(4), visit_event(c.CarerCheckedIn(
            event_id="V0.in", occurred_at=START + timedelta(minutes=1), provider_id="P1",
            visit_id="V0", client_id="C1", carer_id="K1", method=c.CheckMethod.NFC)), START)

    assert len(small._visits) == 2
    missed = small.on_watermark(at(5), START + timedelta(hours=3))
    assert _outcome_status(missed.records).count("missed") == 3
    assert _outcome_status(missed.records) == _outcome_status(
        whole.on_watermark(at(5), START + timedelta(hours=3)).records)
    state = small.state("V0")
    assert state is not None and sorted(state.events) == ["V0.in", "V0.plan"]


def test_a_partition_taken_over_judges_what_comes_next_at_the_last_owners_watermark() -> None:
    raw = DictStore[bytes]()
    whole = VisitLedger(ReferenceData(), EncodedVisits(DictStore[bytes]()))
    before = VisitLedger(ReferenceData(), EncodedVisits(raw))
    for ledger in (whole, before):
        ledger.on_event(at(0), _plan("V1"), None)
        ledger.on_watermark(at(1), START + timedelta(hours=3))
    after = VisitLedger(ReferenceData(), EncodedVisits(raw))  # the partition taken over
    after.resume_watermark(0, START + timedelta(hours=3))  # from streams.gates, last tick
    late = c.CarerCheckedOut(
        event_id="V1.out", occurred_at=START + timedelta(minutes=31), provider_id="P1",
        visit_id="V1", client_id="C1", carer_id="K1", method=c.CheckMethod.NFC)

    got = after.on_event(at(2), late, after.watermark(0))
    want = whole.on_event(at(2), late, whole.watermark(0))

    assert [(r.event_type, r.event_id) for r in got.records] == [
        (r.event_type, r.event_id) for r in want.records]
    assert _outcome_status(got.records) == ["missed"]  # still: a check-out alone
