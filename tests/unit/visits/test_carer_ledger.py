"""The carer ledger: overlaps across visits, and the same answer whether or not it restarted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from ecm import contracts as c
from ecm.domain.serial import event_to_dict
from ecm.visits import carers as carer_ledger
from ecm.visits.ledger import DictStore
from ecm.visits.translate import visit_event

START = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


class CarerLedger(carer_ledger.CarerLedger):
    """The carer ledger, given wire events as the agent gives it (translated first)."""

    def on_call(self, call):
        return super().on_call(visit_event(call))


def _call(visit: str, client: str, minutes: int, check_in: bool) -> c.CallEvent:
    kind = c.CarerCheckedIn if check_in else c.CarerCheckedOut
    return kind(
        event_id=f"{visit}.{'in' if check_in else 'out'}", provider_id="P1", visit_id=visit,
        client_id=client, carer_id="K1", method=c.CheckMethod.NFC,
        occurred_at=START + timedelta(minutes=minutes),
    )


# K1 at client C1 from 08:00 to 09:00, and at C2 from 08:30 to 08:50: both visits overlap.
CALLS = [_call("V1", "C1", 0, True), _call("V2", "C2", 30, True),
         _call("V2", "C2", 50, False), _call("V1", "C1", 60, False)]  # fmt: skip


def _overlaps(records: list[c.ContractEvent]) -> list[str]:
    return sorted(r.visit_id for r in records if isinstance(r, c.VisitExceptionRaised))


def test_overlapping_stays_at_two_clients_are_published_once_for_each_visit() -> None:
    ledger = CarerLedger(DictStore())

    published = [_overlaps(ledger.on_call(call)) for call in CALLS]

    assert published == [[], [], [], ["V1", "V2"]]
    assert _overlaps(ledger.on_call(CALLS[0])) == ["V1", "V2"]  # a redelivery re-emits them


def test_a_restarted_ledger_reads_the_store_and_stores_what_an_unbroken_one_does() -> None:
    unbroken, store = CarerLedger(DictStore()), DictStore()
    for call in CALLS:
        unbroken.on_call(call)
    for call in CALLS[:3]:
        CarerLedger(store).on_call(call)
        for key in store:
            store[key] = bytes(bytearray(store[key]))  # as read back from the changelog

    restarted = CarerLedger(store)
    last = restarted.on_call(CALLS[3])

    assert _overlaps(last) == ["V1", "V2"]
    assert store == unbroken.store


def test_each_call_writes_only_the_entries_of_the_visits_it_changed() -> None:
    writes: list[str] = []

    class CountingStore(DictStore):
        def put(self, key: str, value: bytes) -> None:
            writes.append(key)
            super().put(key, value)

    ledger = CarerLedger(CountingStore())
    for day in range(20):  # twenty earlier days of visits at other times
        ledger.on_call(_call(f"D{day}", "C9", -(day + 1) * 24 * 60, True))
        ledger.on_call(_call(f"D{day}", "C9", -(day + 1) * 24 * 60 + 30, False))
    writes.clear()
    for call in CALLS:
        ledger.on_call(call)

    assert writes == ["K1/V1", "K1/V2", "K1/V2", "K1/V1", "K1/V2"]


def test_after_its_partitions_move_the_ledger_reads_what_another_worker_stored() -> None:
    store = DictStore()
    here = CarerLedger(store)
    here.on_call(CALLS[0])
    elsewhere = CarerLedger(DictStore(store))  # the partition moved to another worker...
    for call in CALLS[1:3]:
        elsewhere.on_call(call)
    store.update(elsewhere.store)  # ...and back, its table recovered
    here.release()

    assert _overlaps(here.on_call(CALLS[3])) == ["V1", "V2"]


def test_a_timeline_stored_in_format_0_is_read_and_rewritten_as_entries() -> None:
    old = {"t": {"carer_id": "K1", "events": [event_to_dict(visit_event(c)) for c in CALLS]},
           "x": {"V1:overlapping_visits:K1": "V1", "V2:overlapping_visits:K1": "V2"}, "r": {}}
    store = DictStore({"K1": json.dumps(old).encode()})
    ledger = CarerLedger(store)
    fix = _correct_out("V1", 20)  # V1 really ended at 08:20, before V2 began

    assert _resolutions(ledger.on_call(fix)) == ["V1", "V2"]
    assert sorted(store) == ["K1/V1", "K1/V2"]


def _correct_out(visit: str, minutes: int) -> c.CallTimeCorrected:
    return c.CallTimeCorrected(
        event_id=f"{visit}.fix", provider_id="P1", visit_id=visit, carer_id="K1",
        corrects="check_out", corrected_time=START + timedelta(minutes=minutes),
        reason_code="FORGOT", corrected_by="U1", occurred_at=START + timedelta(hours=2),
    )


def _resolutions(records: list[c.ContractEvent]) -> list[str]:
    return sorted(r.visit_id for r in records if isinstance(r, c.VisitExceptionResolved))


def test_a_redelivered_correction_publishes_its_resolutions_again() -> None:
    ledger = CarerLedger(DictStore())
    for call in CALLS:
        ledger.on_call(call)
    fix = _correct_out("V1", 20)  # V1 really ended at 08:20, before V2 began

    first, again = ledger.on_call(fix), ledger.on_call(fix)

    assert _resolutions(first) == ["V1", "V2"] and _overlaps(first) == []
    assert _resolutions(again) == ["V1", "V2"]  # they may have been lost in a crash


def test_a_timeline_keeps_four_weeks_and_forgetting_resolves_nothing() -> None:
    store = DictStore()
    ledger = CarerLedger(store)
    for call in CALLS:
        ledger.on_call(call)
    later = _call("V9", "C3", 29 * 24 * 60, True)

    records = ledger.on_call(later)

    assert records == []  # V1 and V2 dropped from the timeline, their overlaps not resolved
    assert list(store) == ["K1/V9"]
