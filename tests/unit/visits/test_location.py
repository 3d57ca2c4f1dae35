"""A check-in's location: a distance and an accuracy, never coordinates, and what they say."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ecm import contracts as c
from ecm.domain.reference import ClientRecord, Validity
from ecm.replay import Replayer
from ecm.visits.translate import visit_event, without_location

START = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


def _check_in(accuracy: float | None, lat: float = 51.2) -> c.CarerCheckedIn:
    return c.CarerCheckedIn(
        event_id="V1.in", occurred_at=START, provider_id="P1", visit_id="V1", client_id="C1",
        carer_id="K1", method=c.CheckMethod.APP_GPS,
        location=c.Location(lat=lat, lon=1.0, accuracy_m=accuracy),
    )


def _replayer() -> Replayer:
    replayer = Replayer()
    replayer.reference.add(ClientRecord(Validity(date(2026, 1, 1), event_id="c1"), "C1", "L1",
                                        "urban", 51.2, 1.0))
    return replayer


def test_the_translator_keeps_the_distance_and_accuracy_and_drops_the_coordinates() -> None:
    call = visit_event(_check_in(12.3, lat=51.2027), _replayer().reference)

    assert (call.distance_m, call.accuracy_m) == (300, 13)  # type: ignore[union-attr]
    assert "51.2027" not in repr(call)
    assert without_location(_check_in(12.3)).location is None  # type: ignore[attr-defined]


def test_a_vague_fix_is_published_as_a_version_2_location_unverifiable_exception() -> None:
    replayer = _replayer()
    plan = c.VisitPlanned(event_id="V1.plan", occurred_at=START - timedelta(hours=12),
                          provider_id="P1", visit_id="V1", client_id="C1",
                          service=c.Service.HOME_CARE, planned_start=START,
                          planned_end=START + timedelta(minutes=30))
    out = c.CarerCheckedOut(event_id="V1.out", occurred_at=START + timedelta(minutes=30),
                            provider_id="P1", visit_id="V1", client_id="C1", carer_id="K1",
                            method=c.CheckMethod.APP_GPS)
    for offset, event in enumerate((plan, _check_in(600), out)):
        replayer.visit(offset, visit_event(event, replayer.reference))
    result = replayer.finish(3)

    (exception,) = [e for e in result.exceptions if e.kind == "location_unverifiable"]
    assert isinstance(exception, c.VisitExceptionRaisedV2) and exception.schema_version == 2
    assert c.parse_event(c.dump_event(exception)) == exception
    assert all(e.schema_version == 1 for e in result.exceptions if e is not exception)
