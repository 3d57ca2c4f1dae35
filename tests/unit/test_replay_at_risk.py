"""``ecm replay`` warns a visit at risk: the rota, the visit before and the visit after, in process.

K0815 visits C1 09:00-10:00 (V1), then C2 from 10:30 (V2); the homes are about 1.1 km
apart in town (337 s of travel by the default rules), so K0815 must leave V1 by 10:39:23.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ecm import contracts as c
from ecm.replay import run

T0 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
PUBLISHED = T0 - timedelta(hours=15)
LEAVE_BY = T0 + timedelta(minutes=105, seconds=-337)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def client(client_id: str, lat: float) -> c.ClientRegistered:
    return c.ClientRegistered(event_id=f"ref-{client_id}", occurred_at=PUBLISHED,
                              client_id=client_id, lot_id="L1", rurality=c.Rurality.URBAN,
                              location=c.Location(lat=lat, lon=1.0, accuracy_m=5),
                              effective_from=date(2026, 1, 1))


def plan(visit: str, client_id: str, start: float) -> c.VisitPlannedV2:
    return c.VisitPlannedV2(event_id=f"plan-{visit}", occurred_at=PUBLISHED, provider_id="P1",
                            visit_id=visit, client_id=client_id, service=c.Service.HOME_CARE,
                            tier=c.Tier.STANDARD, planned_start=at(start),
                            planned_end=at(start + 60), planned_carer_ids=("K0815",))


def call(visit: str, client_id: str, minute: float, check_in: bool = True) -> c.CallEvent:
    model = c.CarerCheckedIn if check_in else c.CarerCheckedOut
    return model(event_id=f"{visit}-{check_in}-{minute}", occurred_at=at(minute),
                 provider_id="P1", visit_id=visit, client_id=client_id, carer_id="K0815",
                 method=c.CheckMethod.NFC)


def alerts(*events: c.ContractEvent) -> list[tuple[str, str, datetime, str | None]]:
    result = run([c.dump_event(e) for e in events])
    return [(a.alert_id, a.event_type, a.occurred_at, getattr(a, "resolution", None))
            for a in result.alerts]


def test_a_carer_still_at_the_visit_before_makes_the_next_visit_at_risk() -> None:
    got = alerts(client("C1", 51.0), client("C2", 51.01), plan("V1", "C1", 0),
                 plan("V2", "C2", 90), call("V1", "C1", 0), call("V1", "C1", 110, False),
                 call("V2", "C2", 118), call("V2", "C2", 170, False))
    assert got == [("V2:at_risk", "alert_raised", LEAVE_BY, None),
                   ("V2:at_risk", "alert_resolved", at(118), "checked_in")]


def test_a_carer_who_leaves_in_time_raises_nothing() -> None:
    got = alerts(client("C1", 51.0), client("C2", 51.01), plan("V1", "C1", 0),
                 plan("V2", "C2", 90), call("V1", "C1", 0), call("V1", "C1", 60, False),
                 call("V2", "C2", 95), call("V2", "C2", 150, False))
    assert got == []
