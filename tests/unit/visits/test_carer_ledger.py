"""The carer ledger: overlaps across visits, and the same answer whether or not it restarted."""

from __future__ import annotations

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


def test_bytes_replaced_under_a_running_ledger_are_read_again() -> None:
    store = DictStore()
    ledger = CarerLedger(store)
    for call in CALLS[:3]:
        ledger.on_call(call)
    del store["K1"]  # the table lost this carer (a partition moved away and back)

    assert _overlaps(ledger.on_call(CALLS[3])) == []  # only V1's check-out is known now
