"""The event contract v1: models round-trip, bad payloads name the field and the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecm.contracts import (
    EVENT_MODELS,
    EVENT_MODELS_V2,
    ContractError,
    ContractEvent,
    dump_event,
    parse_event,
)
from ecm.contracts.examples import examples
from ecm.contracts.schemas import contract_markdown, schema_documents

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = {e.event_type: e for e in examples() if e.schema_version == 1}
EXAMPLES_V2 = {e.event_type: e for e in examples() if e.schema_version == 2}

CHECK_IN = {
    "event_type": "carer_checked_in",
    "event_id": "e1",
    "occurred_at": "2026-11-17T08:21:00Z",
    "provider_id": "P017",
    "visit_id": "V778",
    "client_id": "C04211",
    "carer_id": "K0815",
    "method": "app_gps",
}


def test_there_is_one_example_of_every_event_type() -> None:
    assert set(EXAMPLES) == set(EVENT_MODELS)
    assert set(EXAMPLES_V2) == set(EVENT_MODELS_V2)


@pytest.mark.parametrize("event_type", sorted(EVENT_MODELS_V2))
def test_a_version_2_event_round_trips_and_version_1_refuses_what_it_cannot_say(
    event_type: str
) -> None:
    event = EXAMPLES_V2[event_type]
    parsed = parse_event(dump_event(event))
    assert parsed == event and type(parsed) is EVENT_MODELS_V2[event_type]
    as_version_1 = {**json.loads(dump_event(event)), "schema_version": 1}
    with pytest.raises(ContractError, match=V2_REFUSED_BY_V1[event_type]):
        parse_event(as_version_1)
    v1_schema = json.dumps(
        json.loads((ROOT / "schemas" / "v1" / f"{event_type}.json").read_text()))
    for added in ("location_unverifiable", "frustrated", "verified_gbp", "late_correction_days",
                  "planned_carer_ids", "at_risk"):
        assert added not in v1_schema  # version 1 unchanged


V2_REFUSED_BY_V1 = {
    "visit_exception_raised": "kind: Input should be",
    "visit_exception_resolved": "kind: Input should be",
    "visit_outcome_recorded": "status: Input should be",
    "contract_rules_set": "rules.late_correction_days: Extra inputs are not permitted",
    "visit_planned": "planned_carer_ids: Extra inputs are not permitted",
    "visit_changed": "planned_carer_ids: Extra inputs are not permitted",
    "alert_raised": "kind: Input should be",
    "alert_resolved": "kind: Input should be",
    "alert_handled": "kind: Input should be",
}


@pytest.mark.parametrize("event_type", sorted(EVENT_MODELS))
def test_every_event_type_round_trips_through_json(event_type: str) -> None:
    event = EXAMPLES[event_type]
    parsed = parse_event(dump_event(event))
    assert parsed == event
    assert type(parsed) is EVENT_MODELS[event_type]
    assert parse_event(json.loads(dump_event(event))) == event


@pytest.mark.parametrize("event_type", sorted(EVENT_MODELS))
def test_events_are_frozen(event_type: str) -> None:
    event: ContractEvent = EXAMPLES[event_type]
    with pytest.raises(ValueError):
        event.event_id = "changed"  # type: ignore[misc]


def _errors(payload: object) -> dict[str, str]:
    with pytest.raises(ContractError) as caught:
        parse_event(payload if isinstance(payload, bytes | str) else json.dumps(payload))
    return {e.field: e.reason for e in caught.value.errors}


@pytest.mark.parametrize(
    ("change", "field", "reason_part"),
    [
        ({"occurred_at": "2026-11-17T08:21:00"}, "occurred_at", "timezone"),
        ({"method": "carrier_pigeon"}, "method", "app_gps"),
        ({"event_id": "has space"}, "event_id", "pattern"),
        ({"schema_version": 2}, "schema_version", "1"),
        ({"surprise": 1}, "surprise", "Extra inputs"),
        ({"method": "manual"}, "reason_code", "required when method is manual"),
        ({"location": {"lat": 91, "lon": 0}}, "location.lat", "less than or equal to 90"),
        ({"event_type": "carer_teleported"}, "event_type", "must be one of"),
    ],
)
def test_invalid_check_in_names_the_field_and_the_reason(
    change: dict[str, object], field: str, reason_part: str
) -> None:
    errors = _errors(CHECK_IN | change)
    assert field in errors, errors
    assert reason_part in errors[field]


def test_missing_fields_are_all_reported_at_once() -> None:
    payload = {k: v for k, v in CHECK_IN.items() if k not in ("carer_id", "visit_id")}
    assert {"carer_id", "visit_id"} <= set(_errors(payload))


def test_a_visit_planned_to_end_before_it_starts_is_rejected() -> None:
    errors = _errors(
        {
            "event_type": "visit_planned",
            "event_id": "p1",
            "occurred_at": "2026-11-16T16:00:00Z",
            "provider_id": "P017",
            "visit_id": "V1",
            "client_id": "C1",
            "service": "home_care",
            "planned_start": "2026-11-17T08:00:00Z",
            "planned_end": "2026-11-17T07:30:00Z",
        }
    )
    assert errors == {"planned_end": "must be after planned_start"}


def test_bytes_that_are_not_json_are_a_contract_error() -> None:
    assert "(event)" in _errors(b"{not json")


def test_non_utc_offsets_are_kept_as_the_same_instant() -> None:
    event = parse_event(CHECK_IN | {"occurred_at": "2026-07-01T09:21:00+01:00"})
    assert event.occurred_at.utcoffset() is not None
    assert event.occurred_at == parse_event(CHECK_IN | {"occurred_at": "2026-07-01T08:21:00Z"}).occurred_at


@pytest.mark.parametrize("relative", sorted(schema_documents()))
def test_schema_files_are_exactly_what_the_models_generate(relative: str) -> None:
    path = ROOT / "schemas" / relative
    assert path.exists(), f"{path} is missing: run `make schemas`"
    assert path.read_text() == schema_documents()[relative], f"{path} drifted: run `make schemas`"


def test_no_schema_file_is_left_without_a_model() -> None:
    on_disk = {str(p.relative_to(ROOT / "schemas")) for p in (ROOT / "schemas").rglob("*.json")}
    assert on_disk == set(schema_documents())


def test_contract_documentation_is_up_to_date() -> None:
    assert (ROOT / "docs" / "contract.md").read_text() == contract_markdown()
