"""Planned carers (version 2 of the rota events) and version 3 of exceptions and rules."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ecm import contracts as c
from ecm.contracts.examples import examples
from ecm.domain.rules import RuleBook, RuleChange
from ecm.visits.translate import reference_record, visit_event

ROOT = Path(__file__).resolve().parents[3]
PLAN = {
    "event_type": "visit_planned", "schema_version": 2, "event_id": "p1",
    "occurred_at": "2026-11-16T17:00:00Z", "provider_id": "P017", "visit_id": "V1",
    "client_id": "C1", "service": "home_care", "planned_start": "2026-11-17T08:00:00Z",
    "planned_end": "2026-11-17T08:30:00Z", "carers_required": 2,
    "planned_carer_ids": ["K1", "K2"],
}
CHANGE = {
    "event_type": "visit_changed", "event_id": "ch1", "occurred_at": "2026-11-16T18:00:00Z",
    "provider_id": "P017", "visit_id": "V1", "planned_start": "2026-11-17T08:15:00Z",
    "planned_end": "2026-11-17T08:45:00Z", "carers_required": 2,
}


def _errors(payload: dict[str, object]) -> dict[str, str]:
    with pytest.raises(c.ContractError) as caught:
        c.parse_event(payload)
    return {e.field: e.reason for e in caught.value.errors}


def test_a_version_2_plan_names_its_carers_in_the_domain() -> None:
    event = visit_event(c.parse_event(PLAN))

    assert event.planned_carer_ids == ("K1", "K2")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "carers"),
    [
        ({}, None),  # version 1: keeps the carers planned before
        ({"schema_version": 2}, None),  # version 2 without them: keeps them too
        ({"schema_version": 2, "planned_carer_ids": ["K3"]}, ("K3",)),
        ({"schema_version": 2, "planned_carer_ids": []}, ()),  # nobody named any more
    ],
)
def test_a_rota_change_replaces_the_planned_carers_only_when_it_names_them(
    change: dict[str, object], carers: tuple[str, ...] | None
) -> None:
    event = visit_event(c.parse_event(CHANGE | change))

    assert event.planned_carer_ids == carers  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"planned_carer_ids": ["K1", "K1"]}, "names a carer more than once"),
        ({"planned_carer_ids": ["K1", "K2", "K3"]}, "names 3 carers for a visit that needs 2"),
        ({"planned_carer_ids": ["has space"]}, "pattern"),
    ],
)
def test_bad_planned_carers_are_refused_naming_the_field(
    change: dict[str, object], reason: str
) -> None:
    errors = _errors(PLAN | change)

    field = next(f for f in errors if f.startswith("planned_carer_ids"))
    assert reason in errors[field]


def test_a_version_1_reader_refuses_planned_carers_and_version_1_is_unchanged() -> None:
    assert "planned_carer_ids" in _errors(PLAN | {"schema_version": 1})
    v1 = (ROOT / "schemas" / "v1" / "visit_planned.json").read_text()
    assert "planned_carer_ids" not in v1


def test_an_insufficient_travel_exception_is_version_3_and_earlier_versions_refuse_it() -> None:
    raised = next(e for e in examples() if isinstance(e, c.VisitExceptionRaisedV3))
    wire = json.loads(c.dump_event(raised))

    assert type(c.parse_event(wire)) is c.VisitExceptionRaisedV3
    for version in (1, 2):
        assert "kind" in _errors(wire | {"schema_version": version})
    for version in ("v1", "v2"):
        text = (ROOT / "schemas" / version / "visit_exception_raised.json").read_text()
        assert "insufficient_travel_time" not in text


def test_a_version_3_rules_event_sets_the_travel_rules_of_a_lot() -> None:
    event = c.parse_event({
        "event_type": "contract_rules_set", "schema_version": 3, "event_id": "r3",
        "occurred_at": "2026-11-01T09:00:00Z", "rules_id": "kent-travel", "lot_id": "L1",
        "effective_from": "2026-11-02",
        "rules": {"travel_road_factor": "1.4", "travel_speed_kmh_urban": 20,
                  "late_correction_days": 5},
    })
    change = reference_record(event)  # type: ignore[arg-type]
    assert isinstance(change, RuleChange)
    book = RuleBook()
    book.add(change)

    policy = book.resolve("L1", "home_care", date(2026, 11, 17))

    assert (policy.travel_road_factor, policy.travel_speed_kmh_urban,
            policy.late_correction_days) == (Decimal("1.4"), 20, 5)
    assert book.resolve("L2", "home_care", date(2026, 11, 17)).travel_speed_kmh_urban == 24


@pytest.mark.parametrize("rule", ["travel_road_factor", "travel_speed_kmh_urban"])
def test_earlier_rules_versions_refuse_the_travel_rules(rule: str) -> None:
    for version in (1, 2):
        errors = _errors({
            "event_type": "contract_rules_set", "schema_version": version, "event_id": "r",
            "occurred_at": "2026-11-01T09:00:00Z", "rules_id": "x",
            "effective_from": "2026-11-02", "rules": {rule: 2},
        })
        assert f"rules.{rule}" in errors


def test_a_version_a_type_does_not_have_is_refused_naming_the_version() -> None:
    assert "schema_version" in _errors(CHANGE | {"schema_version": 3})
