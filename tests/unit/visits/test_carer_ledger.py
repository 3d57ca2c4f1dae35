"""The carer ledger: overlaps across visits, and the same answer whether or not it restarted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from ecm import contracts as c
from ecm.visits.carers import CarerLedger

START = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


class DictStore(dict[str, bytes]):
    """A keyed store standing in for the Faust table (pure logic, no broker)."""

    def put(self, key: str, value: bytes) -> None:
        self[key] = value


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
        store["K1"] = bytes(bytearray(store["K1"]))  # as read back from the changelog

    restarted = CarerLedger(store)
    last = restarted.on_call(CALLS[3])

    assert _overlaps(last) == ["V1", "V2"]
    assert store["K1"] == unbroken.store.get("K1")


def test_a_carer_gone_from_the_store_under_a_running_ledger_starts_afresh() -> None:
    store = DictStore()
    ledger = CarerLedger(store)
    for call in CALLS[:3]:
        ledger.on_call(call)
    del store["K1"]  # the table lost this carer

    assert _overlaps(ledger.on_call(CALLS[3])) == []  # only V1's check-out is known now


def test_newer_bytes_written_elsewhere_are_read_instead_of_the_cached_carer() -> None:
    store = DictStore()
    here = CarerLedger(store)
    here.on_call(CALLS[0])
    elsewhere = CarerLedger(DictStore(store))  # the partition moved to another worker...
    for call in CALLS[1:3]:
        elsewhere.on_call(call)
    store["K1"] = elsewhere.store.get("K1") or b""  # ...and back, its table recovered

    assert _overlaps(here.on_call(CALLS[3])) == ["V1", "V2"]


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
    assert [e["visit_id"] for e in json.loads(store["K1"])["t"]["events"]] == ["V9"]
