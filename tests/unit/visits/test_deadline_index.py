"""The deadline index: one wake-up per visit, nothing stale ever due, earlier ones signalled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ecm.visits.deadlines import DeadlineIndex

T0 = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_visit_whose_deadline_moved_is_due_only_at_the_new_one() -> None:
    index = DeadlineIndex()
    index.set("V1", (at(30), "not_arrived"))
    index.set("V1", (at(120), "missed"))  # checked in, say: only the later one is left

    assert index.pop_due(at(60)) == {} and index.next() == at(120)
    assert index.pop_due(at(121)) == {"V1": "missed"} and len(index) == 0


def test_a_visit_whose_deadline_vanished_is_never_due() -> None:
    index = DeadlineIndex()
    index.set("V1", (at(30), "not_arrived"))
    index.set("V1", None)

    assert index.pop_due(at(1_000), inclusive=True) == {} and index.next() is None


def test_due_visits_come_in_deadline_order_and_a_deadline_at_now_waits_unless_inclusive() -> None:
    index = DeadlineIndex()
    for minute, visit in ((30, "V3"), (10, "V1"), (20, "V2")):
        index.set(visit, (at(minute), "not_arrived"))

    assert list(index.pop_due(at(20))) == ["V1"]
    assert list(index.pop_due(at(20), inclusive=True)) == ["V2"]


def test_superseded_entries_are_compacted_away() -> None:
    index = DeadlineIndex()
    for minute in range(1_000):
        index.set("V1", (at(minute), "missed"))

    assert len(index._heap) < 200 and len(index) == 1  # noqa: SLF001


def test_the_alarm_rings_only_when_a_deadline_earlier_than_every_other_is_indexed() -> None:
    rung: list[int] = []
    index = DeadlineIndex(lambda: rung.append(1))
    index.set("V1", (at(60), "not_arrived"))  # the first: earliest
    index.set("V2", (at(90), "not_arrived"))  # later: the timer sleeps on
    index.set("V3", (at(30), "not_arrived"))  # earlier: wake the timer

    assert len(rung) == 2
