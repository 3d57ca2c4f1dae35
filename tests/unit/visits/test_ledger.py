"""The ledger the stream workers call: at-least-once without losing or repeating alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ecm import contracts as c
from ecm.domain.reference import ReferenceData
from ecm.visits import ledger as visit_ledger
from ecm.visits.ledger import DictStore, EncodedVisits, Position
from ecm.visits.translate import visit_event

START = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
EVENTS = "visit-events"


def at(offset: int, source: str = EVENTS) -> Position:
    """The position of a message on partition 0 of ``source``."""
    return Position(0, source, offset)


class VisitLedger(visit_ledger.VisitLedger):
    """The ledger, given wire events as the agents give it (translated first)."""

    def on_event(self, position, event, watermark):
        return super().on_event(position, visit_event(event), watermark)


def _plan(visit_id: str = "V1") -> c.VisitPlanned:
    return c.VisitPlanned(
        event_id=f"{visit_id}.plan", occurred_at=START - timedelta(hours=12), provider_id="P1",
        visit_id=visit_id, client_id="C1", service=c.Service.HOME_CARE,
        planned_start=START, planned_end=START + timedelta(minutes=30),
    )


def _raised(records: list[c.ContractEvent]) -> list[str]:
    return [r.alert_id for r in records if isinstance(r, c.AlertRaised)]


def test_not_arrived_fires_once_when_a_tick_passes_the_deadline() -> None:
    ledger = VisitLedger(ReferenceData(), EncodedVisits(DictStore()))
    ledger.on_event(at(0), _plan(), None)

    first = ledger.on_watermark(at(1), START + timedelta(minutes=35))
    again = ledger.on_watermark(at(2), START + timedelta(minutes=40))

    assert _raised(first.records) == ["V1:not_arrived"]
    assert [change.alert_id for change in first.fired] == ["V1:not_arrived"]
    assert _raised(again.records) == [] and again.fired == []


def test_a_check_in_before_the_deadline_wins_over_the_tick() -> None:
    ledger = VisitLedger(ReferenceData(), EncodedVisits(DictStore()))
    ledger.on_event(at(0), _plan(), None)
    check_in = c.CarerCheckedIn(
        event_id="V1.in", occurred_at=START + timedelta(minutes=10), provider_id="P1",
        visit_id="V1", client_id="C1", carer_id="K1", method=c.CheckMethod.NFC,
    )
    ledger.on_event(at(1), check_in, START)

    assert _raised(ledger.on_watermark(at(2), START + timedelta(minutes=35)).records) == []


def test_after_a_restart_a_redelivered_tick_publishes_the_alert_again() -> None:
    store = EncodedVisits(DictStore())
    before = VisitLedger(ReferenceData(), store)
    before.on_event(at(0), _plan(), None)
    before.on_watermark(at(1), START + timedelta(minutes=35))  # state saved, outputs lost

    after = VisitLedger(ReferenceData(), store)  # a new process on the same table
    redelivered = after.on_watermark(at(1), START + timedelta(minutes=35))

    assert _raised(redelivered.again) == ["V1:not_arrived"]
    assert redelivered.records == [] and redelivered.fired == []  # counted once, before


def test_after_a_restart_visits_changed_before_the_resume_point_are_not_republished() -> None:
    store = EncodedVisits(DictStore())
    before = VisitLedger(ReferenceData(), store)
    before.on_event(at(0), _plan("V1"), None)
    before.on_event(at(1), _plan("V2"), None)

    after = VisitLedger(ReferenceData(), store)
    resumed = after.on_event(at(1), _plan("V2"), None)  # offset 0 was committed

    assert {r.visit_id for r in resumed.again if isinstance(r, c.VisitOutcomeRecorded)} == {"V2"}


def test_the_resume_point_is_per_topic() -> None:
    store = EncodedVisits(DictStore())
    before = VisitLedger(ReferenceData(), store)
    before.on_event(at(0), _plan(), None)
    before.on_deadline(at(7, "commands"), "V1", START + timedelta(minutes=31))  # lost

    after = VisitLedger(ReferenceData(), store)
    on_events = after.on_event(at(1), _plan("V2"), None)
    on_commands = after.on_deadline(at(7, "commands"), "V1", START + timedelta(minutes=31))

    assert "V1:not_arrived" not in _raised(on_events.again + on_events.records)
    assert _raised(on_commands.again) == ["V1:not_arrived"]


def test_a_redelivered_event_republishes_the_visit_once_and_changes_nothing() -> None:
    table = DictStore()
    store = EncodedVisits(table)
    first = VisitLedger(ReferenceData(), store).on_event(at(0), _plan(), None)
    after = VisitLedger(ReferenceData(), store)
    redelivered = after.on_event(at(0), _plan(), None)
    later = after.on_event(at(0), _plan(), None)

    outcome = [r for r in first.records if isinstance(r, c.VisitOutcomeRecorded)]
    assert outcome
    assert [r for r in redelivered.again if isinstance(r, c.VisitOutcomeRecorded)] == outcome
    assert redelivered.records == []  # sent again, not counted again
    assert later.records == later.again == [] and later.fired == []
    assert table == {"V1": table["V1"]}  # nothing new written


def test_a_duplicate_from_the_provider_publishes_nothing() -> None:
    ledger = VisitLedger(ReferenceData(), EncodedVisits(DictStore()))
    ledger.on_event(at(0), _plan(), None)

    assert ledger.on_event(at(1), _plan(), None).records == []


def test_after_a_restart_a_resolution_lost_in_the_crash_is_published_again() -> None:
    store = EncodedVisits(DictStore())
    before = VisitLedger(ReferenceData(), store)
    before.on_event(at(0), _plan(), None)
    before.on_watermark(at(1), START + timedelta(hours=3))  # no check-in yet: an exception
    late = c.CarerCheckedIn(
        event_id="V1.in", occurred_at=START + timedelta(minutes=10), provider_id="P1",
        visit_id="V1", client_id="C1", carer_id="K1", method=c.CheckMethod.NFC,
    )
    before.on_event(at(2), late, START + timedelta(hours=3))  # resolves it; records lost

    after = VisitLedger(ReferenceData(), store)
    resumed = after.on_event(at(2), late, None)

    resolved = [r.exception_id for r in resumed.again if isinstance(r, c.VisitExceptionResolved)]
    assert resolved == ["V1:no_check_in"]


def test_a_deadline_passed_before_any_tick_fires_at_the_first_tick() -> None:
    """A partition's first events are judged without a clock (no tick yet, or a takeover).

    Nothing fires then, but the deadline they passed stays indexed: the first tick fires
    it, as a visit judged with a clock would have, not only a flush at the extract's end.
    """
    ledger = VisitLedger(ReferenceData(), EncodedVisits(DictStore()))
    ledger.on_event(at(0), _plan(), None)
    late = c.CarerCheckedIn(
        event_id="V1.in", occurred_at=START + timedelta(minutes=40), provider_id="P1",
        visit_id="V1", client_id="C1", carer_id="K1", method=c.CheckMethod.NFC,
    )
    out = c.CarerCheckedOut(
        event_id="V1.out", occurred_at=START + timedelta(minutes=70), provider_id="P1",
        visit_id="V1", client_id="C1", carer_id="K1", method=c.CheckMethod.NFC,
    )
    unclocked = [*ledger.on_event(at(1), late, None).records,
                 *ledger.on_event(at(2), out, None).records]
    assert _raised(unclocked) == []

    tick = ledger.on_watermark(at(3), START + timedelta(minutes=75))

    assert _raised(tick.records) == ["V1:not_arrived"]
    resolved = [r.alert_id for r in tick.records if isinstance(r, c.AlertResolved)]
    assert resolved == ["V1:not_arrived"]
