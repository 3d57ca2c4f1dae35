"""Rota realism: a carer's consecutive visits leave time to travel, or raise an exception.

Clients C1 and C2 are 1112 m apart in town: the default rules estimate 337 s (5 min 37 s)
of travel between them. C3 has no registered location.
"""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from ecm import contracts as c
from ecm.domain import events as d
from ecm.domain.reference import ClientRecord, ReferenceData, Validity
from ecm.domain.rota import CarerRota, GapStatus
from ecm.domain.visit import VisitState
from ecm.visits.ledger import DictStore
from ecm.visits.rota import RotaLedger, rota_messages
from ecm.visits.translate import schedule_record, travel_gap_record, visit_event

DAY = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
PUBLISHED = DAY - timedelta(hours=14)
VALID = Validity(date(2026, 1, 1))


def _reference() -> ReferenceData:
    reference = ReferenceData()
    reference.add(ClientRecord(VALID, "C1", "L1", "urban", 51.0, 1.0))
    reference.add(ClientRecord(VALID, "C2", "L1", "urban", 51.01, 1.0))
    reference.add(ClientRecord(VALID, "C3", "L1", "urban"))
    return reference


def _plan(visit: str, client: str, start_min: int, carers: tuple[str, ...] = ("K1",),
          minutes: int = 30, at: datetime = PUBLISHED) -> d.VisitPlanned:
    start = DAY + timedelta(minutes=start_min)
    return d.VisitPlanned(f"{visit}.plan", at, visit, "P1", client, "home_care", "standard",
                          start, start + timedelta(minutes=minutes), len(carers) or 1, False,
                          None, carers)


def _change(visit: str, start_min: int, carers: tuple[str, ...] | None, n: int = 1,
            minutes: int = 30) -> d.VisitChanged:
    start = DAY + timedelta(minutes=start_min)
    return d.VisitChanged(f"{visit}.chg{n}", PUBLISHED + timedelta(hours=n), visit, "P1", start,
                          start + timedelta(minutes=minutes), max(1, len(carers or ())), False,
                          carers)


def _cancel(visit: str) -> d.VisitCancelled:
    return d.VisitCancelled(f"{visit}.cxl", PUBLISHED + timedelta(hours=3), visit, "P1", "client")


def _run(events: list[d.VisitEvent], ledger: RotaLedger | None = None,
         states: dict[str, VisitState] | None = None,
         ) -> tuple[RotaLedger, list[c.ContractEvent]]:
    """Apply events as the replay does: each visit's state, then the rota messages."""
    ledger = ledger or RotaLedger(_reference(), DictStore())
    states = {} if states is None else states
    records: list[c.ContractEvent] = []
    for event in events:
        state = states.setdefault(event.visit_id, VisitState(event.visit_id))
        state.apply(event)
        assert isinstance(event, d.VisitPlanned | d.VisitChanged | d.VisitCancelled)
        for carer, message in rota_messages(state, event):
            records += ledger.on_schedule(carer, message)
    return ledger, records


def _open(records: list[c.ContractEvent]) -> dict[str, str]:
    """The insufficient-travel exceptions open at the end (id -> detail)."""
    found: dict[str, str] = {}
    for record in records:
        if isinstance(record, c.VisitExceptionRaised):
            found[record.exception_id] = record.detail
        elif isinstance(record, c.VisitExceptionResolved):
            found.pop(record.exception_id, None)
    return found


def _gaps(records: list[c.ContractEvent]) -> dict[str, c.TravelGapJudged]:
    return {r.gap_id: r for r in records if isinstance(r, c.TravelGapJudged)}


@pytest.mark.parametrize(
    ("second", "status", "short", "shortfall"),
    [
        (_plan("V2", "C2", 30), GapStatus.JUDGED, True, 337),  # back to back
        (_plan("V2", "C2", 33), GapStatus.JUDGED, True, 157),  # 3 min of 5 min 37 s
        (_plan("V2", "C2", 36), GapStatus.JUDGED, False, 0),  # 6 min: enough
        (_plan("V2", "C2", 20), GapStatus.JUDGED, True, 337),  # overlaps: allows none
        (_plan("V2", "C1", 30), GapStatus.JUDGED, False, 0),  # the same client again
        (_plan("V2", "C3", 30), GapStatus.TRAVEL_UNKNOWN, False, 0),  # no location
        (_plan("V2", "C2", 30, ("K2",)), GapStatus.FIRST_OF_DAY, False, 0),  # someone else
    ],
)
def test_the_gap_before_a_carers_next_visit_is_judged_against_the_travel(
    second: d.VisitPlanned, status: GapStatus, short: bool, shortfall: int
) -> None:
    _, records = _run([_plan("V1", "C1", 0), second])

    gap = _gaps(records)[f"V2:{second.planned_carer_ids[0]}"]
    assert (gap.status.value, gap.short, gap.shortfall_seconds) == (status.value, short,
                                                                    shortfall)
    expected = {"V2:insufficient_travel_time:K1"} if short else set()
    assert set(_open(records)) == expected
    assert _gaps(records)["V1:K1"].status is c.GapStatus.FIRST_OF_DAY


def test_the_exception_is_version_3_and_says_what_the_rota_left_and_what_travel_needs() -> None:
    _, records = _run([_plan("V1", "C1", 0), _plan("V2", "C2", 33)])

    raised = [r for r in records if isinstance(r, c.VisitExceptionRaised)]
    assert len(raised) == 1 and isinstance(raised[0], c.VisitExceptionRaisedV3)
    assert raised[0].provider_id == "P1" and raised[0].carer_id == "K1"
    assert raised[0].detail == ("planned to start 3 min after visit V1 (client C1) ends; the "
                                "travel needs about 5 min (1112 m in a straight line)")
    assert c.parse_event(c.dump_event(raised[0])) == raised[0]


@pytest.mark.parametrize(
    "fix",
    [
        _change("V2", 45, None),  # moved later, the carers kept
        _change("V2", 30, ("K2",)),  # another carer planned
        _cancel("V2"),
        _cancel("V1"),  # the previous visit called off: V2 is first of the day
    ],
)
def test_a_rota_change_that_leaves_time_resolves_the_exception(fix: d.VisitEvent) -> None:
    _, records = _run([_plan("V1", "C1", 0), _plan("V2", "C2", 30), fix])

    assert _open(records) == {}
    resolved = [r for r in records if isinstance(r, c.VisitExceptionResolved)]
    assert [r.exception_id for r in resolved] == ["V2:insufficient_travel_time:K1"]
    assert resolved[0].occurred_at == fix.occurred_at


def test_a_visit_taken_off_a_carers_rota_is_withdrawn_from_their_gaps() -> None:
    _, records = _run([_plan("V1", "C1", 0), _plan("V2", "C2", 30),
                       _change("V2", 30, ("K2",))])

    gaps = _gaps(records)
    assert gaps["V2:K1"].status is c.GapStatus.WITHDRAWN
    assert gaps["V2:K2"].status is c.GapStatus.FIRST_OF_DAY


def test_a_carer_named_by_a_change_gets_the_visit_onto_their_rota() -> None:
    events = [_plan("V1", "C1", 0, ("K2",)), _plan("V2", "C2", 30, ()),
              _change("V2", 30, ("K2",))]

    _, records = _run(events)

    assert set(_open(records)) == {"V2:insufficient_travel_time:K2"}


def test_the_day_is_judged_in_planned_order_whatever_order_the_plans_arrive_in() -> None:
    events = [_plan("V1", "C1", 0), _plan("V2", "C2", 30), _plan("V3", "C1", 90),
              _change("V3", 60, None), _change("V2", 40, None, n=2)]
    ends = set()
    for order in itertools.permutations(events):
        _, records = _run(list(order))
        ends.add((tuple(sorted(_open(records).items())),
                  tuple(sorted((k, g.event_id) for k, g in _gaps(records).items()))))
    assert len(ends) == 1
    (open_exceptions, _), = ends
    assert [k for k, _ in open_exceptions] == ["V3:insufficient_travel_time:K1"]


def test_a_restarted_ledger_reads_the_store_and_answers_the_same() -> None:
    store: DictStore[bytes] = DictStore()
    states: dict[str, VisitState] = {}
    _, records = _run([_plan("V1", "C1", 0), _plan("V2", "C2", 30)],
                      RotaLedger(_reference(), store), states)
    again = RotaLedger(_reference(), store)

    _, more = _run([_change("V2", 45, None)], again, states)

    assert _open(records + more) == {}
    assert all(json.loads(raw)["fmt"] == 1 for raw in store.values())


def test_a_redelivered_event_republishes_the_days_picture() -> None:
    ledger, records = _run([_plan("V1", "C1", 0), _plan("V2", "C2", 30)])

    again = ledger.on_schedule("K1", _plan("V2", "C2", 30))

    assert {r.event_id for r in again} <= {r.event_id for r in records}
    assert "V2:insufficient_travel_time:K1" in {
        r.exception_id for r in again if isinstance(r, c.VisitExceptionRaised)}


def test_schedule_events_reach_the_rota_through_the_wire_unchanged() -> None:
    for event in (_plan("V1", "C1", 0, ("K1", "K2")), _plan("V2", "C2", 0, ()),
                  _change("V2", 30, None), _change("V2", 30, ("K3",)), _cancel("V1")):
        wire = c.parse_event(c.dump_event(schedule_record(event)))
        assert isinstance(wire, c.ScheduleEvent)
        assert visit_event(wire) == event


def test_a_carers_rota_forgets_days_long_past() -> None:
    rota = CarerRota("K1")
    old = _plan("V0", "C1", -40 * 24 * 60)
    rota.apply(old)
    rota.apply(_plan("V1", "C1", 0))

    assert rota.forget_before() == {"V0"}
    assert rota.days() == {date(2026, 11, 17)}


def test_judging_only_the_touched_gaps_gives_what_judging_whole_days_gives() -> None:
    events: list[d.VisitEvent] = [
        _plan("V1", "C1", 0), _plan("V2", "C2", 30), _plan("V3", "C1", 90),
        _plan("V4", "C2", 100), _change("V3", 20, None), _change("V1", 120, None, n=2),
        _cancel("V2"), _change("V4", 100, ("K2",), n=3)]
    shuffle = random.Random(7)
    for _ in range(300):  # orders of arrival, seeded
        order = shuffle.sample(events, len(events))
        _, records = _run(order)
        published = {k: g.event_id for k, g in _gaps(records).items()
                     if g.status is not c.GapStatus.WITHDRAWN and k.endswith(":K1")}
        rota = CarerRota("K1")
        for event in order:
            assert isinstance(event, d.VisitPlanned | d.VisitChanged | d.VisitCancelled)
            rota.apply(event)
        whole_days = {f"{g.visit_id}:K1": travel_gap_record(g).event_id
                      for day in rota.days() for g in rota.gaps(day, _reference())}
        assert published == whole_days, order
