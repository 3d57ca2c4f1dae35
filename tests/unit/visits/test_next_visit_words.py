"""The carer's rota tells each planned visit where the carer goes next (docs/rules.md, "At risk").

C1 and C2 are 1112 m apart in town: 337 s of travel under the default rules. C3 has no
registered location, so no time to leave by can be known for a journey to or from it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ecm.domain import events as d
from ecm.domain.reference import ClientRecord, ReferenceData, Validity
from ecm.visits.ledger import DictStore
from ecm.visits.rota import RotaLedger

DAY = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
PUBLISHED = DAY - timedelta(hours=14)
VALID = Validity(date(2026, 1, 1))


def reference() -> ReferenceData:
    ref = ReferenceData()
    ref.add(ClientRecord(VALID, "C1", "L1", "urban", 51.0, 1.0))
    ref.add(ClientRecord(VALID, "C2", "L1", "urban", 51.01, 1.0))
    ref.add(ClientRecord(VALID, "C3", "L1", "urban"))
    return ref


def plan(visit: str, client: str, start_min: int, n: int = 0) -> d.VisitPlanned:
    start = DAY + timedelta(minutes=start_min)
    return d.VisitPlanned(f"{visit}.plan{n}", PUBLISHED + timedelta(minutes=n), visit, "P1",
                          client, "home_care", "standard", start, start + timedelta(minutes=30),
                          1, False, None, ("K1",))


def cancel(visit: str) -> d.VisitCancelled:
    return d.VisitCancelled(f"{visit}.cxl", PUBLISHED + timedelta(hours=3), visit, "P1", "client")


def told(ledger: RotaLedger, *events: d.VisitEvent) -> list[tuple[str, str | None, datetime | None, int]]:
    for event in events:
        assert isinstance(event, d.VisitPlanned | d.VisitChanged | d.VisitCancelled)
        ledger.on_schedule("K1", event)
    return [(w.visit_id, w.next_visit_id, w.leave_by, w.seq) for w in ledger.take_whereabouts()]


def test_each_visit_is_told_its_successor_and_when_to_leave_for_it() -> None:
    ledger = RotaLedger(reference(), DictStore())
    words = told(ledger, plan("V1", "C1", 0), plan("V2", "C2", 60))
    leave = DAY + timedelta(minutes=60 + 15, seconds=-337)
    assert words == [("V1", "V2", leave, 1)]


def test_a_word_is_sent_again_only_when_it_changes() -> None:
    ledger = RotaLedger(reference(), DictStore())
    told(ledger, plan("V1", "C1", 0), plan("V2", "C2", 60))
    assert told(ledger, plan("V3", "C1", 180)) == [
        ("V2", "V3", DAY + timedelta(minutes=195, seconds=-337), 1)]
    assert told(ledger, cancel("V2")) == [
        ("V1", "V3", DAY + timedelta(minutes=195), 2)]  # same home: no travel


def test_the_last_visit_left_of_the_day_is_told_nowhere() -> None:
    ledger = RotaLedger(reference(), DictStore())
    told(ledger, plan("V1", "C1", 0), plan("V2", "C2", 60))
    assert told(ledger, cancel("V2")) == [("V1", None, None, 2)]


def test_a_journey_to_a_home_not_located_gives_no_time_to_leave_by() -> None:
    ledger = RotaLedger(reference(), DictStore())
    assert told(ledger, plan("V1", "C1", 0), plan("V2", "C3", 60)) == []


def test_the_words_survive_a_restart_of_the_ledger() -> None:
    store: DictStore[bytes] = DictStore()
    first = RotaLedger(reference(), store)
    told(first, plan("V1", "C1", 0), plan("V2", "C2", 60))
    again = RotaLedger(reference(), store)
    assert told(again, plan("V3", "C1", 180)) == [
        ("V2", "V3", DAY + timedelta(minutes=195, seconds=-337), 1)]
