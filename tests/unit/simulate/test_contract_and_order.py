from __future__ import annotations

import json
import math
from datetime import datetime

import pytest

from ecm.contracts import CarerCheckedIn, CheckMethod, ContractError, VisitPlanned, parse_event
from ecm.simulate import Line, SimulationConfig
from ecm.simulate.geo import distance_m
from ecm.topics import REFERENCE

from .conftest import run_lines

CONFIG = SimulationConfig(seed=11, scale=0.03, weeks=1, malformed_rate=0.01)


@pytest.fixture(scope="module")
def lines() -> list[Line]:
    return run_lines(CONFIG)[0]


def test_every_line_but_the_malformed_ones_is_a_valid_event(lines: list[Line]) -> None:
    for line in lines:
        if line.event_type == "malformed":
            with pytest.raises(ContractError):
                parse_event(line.payload)
        else:
            assert parse_event(line.payload).event_type == line.event_type


def test_malformed_lines_mix_invalid_json_and_schema_invalid(lines: list[Line]) -> None:
    kinds = set()
    for line in (x for x in lines if x.event_type == "malformed"):
        try:
            json.loads(line.payload)
            kinds.add("schema")
        except ValueError:
            kinds.add("json")
    assert kinds == {"json", "schema"}


def test_reference_data_comes_first_and_lines_are_in_arrival_order(lines: list[Line]) -> None:
    first_visit = next(i for i, x in enumerate(lines) if x.topic != REFERENCE)
    assert all(x.event_type != "visit_planned" for x in lines[:first_visit])
    rules = next(i for i, x in enumerate(lines) if x.event_type == "contract_rules_set")
    assert rules < first_visit
    assert all(a.arrival <= b.arrival for a, b in zip(lines, lines[1:], strict=False))


def test_schedule_is_published_the_day_before(lines: list[Line]) -> None:
    for line in (x for x in lines if x.event_type == "visit_planned"):
        event = parse_event(line.payload)
        assert isinstance(event, VisitPlanned)
        assert event.occurred_at.date() < event.planned_start.date()


def test_some_deliveries_are_duplicates_and_some_out_of_order(lines: list[Line]) -> None:
    seen = {x.payload for x in lines if not x.duplicate}
    dups = [x for x in lines if x.duplicate]
    assert dups and all(x.payload in seen for x in dups)
    calls = [parse_event(x.payload) for x in lines if x.event_type == "carer_checked_in"]
    times = [c.occurred_at for c in calls]
    assert any(b < a for a, b in zip(times, times[1:], strict=False))


def test_gps_drift_is_mostly_within_250_metres_with_a_tail(lines: list[Line]) -> None:
    homes = {}
    distances = []
    for line in lines:
        doc = json.loads(line.payload) if line.event_type != "malformed" else {}
        if line.event_type == "client_registered":
            homes[doc["client_id"]] = (doc["location"]["lat"], doc["location"]["lon"])
        elif line.event_type == "carer_checked_in" and doc["method"] == "app_gps":
            spot = (doc["location"]["lat"], doc["location"]["lon"])
            distances.append(distance_m(homes[doc["client_id"]], spot))
    far = sum(d > 250 for d in distances) / len(distances)
    assert 0.005 < far < 0.15


def test_manual_entries_carry_reason_codes(lines: list[Line]) -> None:
    manual = [
        e
        for x in lines
        if x.event_type == "carer_checked_in"
        and isinstance(e := parse_event(x.payload), CarerCheckedIn)
        and e.method is CheckMethod.MANUAL
    ]
    assert manual and all(e.reason_code for e in manual)


def test_timestamps_are_offset_aware_local_time(lines: list[Line]) -> None:
    stamp = json.loads(lines[-1].payload)["occurred_at"]
    parsed = datetime.fromisoformat(stamp)
    assert parsed.tzinfo is not None
    assert not math.isnan(parsed.timestamp())
