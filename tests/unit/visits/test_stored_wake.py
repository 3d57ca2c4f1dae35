"""A worker taking partitions over indexes deadlines from the stored wake-ups, decoding no visit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from ecm.domain.events import StayQuestioned
from ecm.domain.reference import ReferenceData
from ecm.visits.ledger import DictStore, EncodedVisits
from ecm.visits.ledger import VisitLedger as DomainLedger
from ecm.visits.state import StoredVisit, stored_wake

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
