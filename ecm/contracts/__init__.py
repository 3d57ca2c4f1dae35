"""The wire contract (v1): every event providers send and the service emits.

``parse_event`` turns bytes, text or a dict into the right frozen model, or raises
``ContractError`` naming each failing field; ``dump_event`` is its inverse.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from ecm.contracts.calls import CallTimeCorrected, CarerCheckedIn, CarerCheckedOut
from ecm.contracts.common import (
    SCHEMA_VERSION,
    CancelledBy,
    CheckMethod,
    ContractEvent,
    Location,
    ProviderKind,
    Rurality,
    Service,
    Tier,
)
from ecm.contracts.errors import ContractError, FieldError
from ecm.contracts.outputs import (
    AlertKind,
    AlertRaised,
    AlertResolved,
    CorrectionAudit,
    ExceptionKind,
    Punctuality,
    VisitExceptionRaised,
    VisitExceptionResolved,
    VisitOutcomeRecorded,
    VisitStatus,
)
from ecm.contracts.reference import (
    CallLengthFactor,
    CarePackageAgreed,
    CarerRegistered,
    ClientRegistered,
    ContractRules,
    ContractRulesSet,
    LotDefined,
    ProviderRegistered,
    RateCardPublished,
)
from ecm.contracts.schedule import VisitCancelled, VisitChanged, VisitPlanned

ReferenceEvent = (
    LotDefined
    | ProviderRegistered
    | ClientRegistered
    | CarerRegistered
    | CarePackageAgreed
    | RateCardPublished
    | ContractRulesSet
)
ScheduleEvent = VisitPlanned | VisitChanged | VisitCancelled
CallEvent = CarerCheckedIn | CarerCheckedOut | CallTimeCorrected
VisitEvent = ScheduleEvent | CallEvent
OutputEvent = (
    VisitOutcomeRecorded
    | AlertRaised
    | AlertResolved
    | VisitExceptionRaised
    | VisitExceptionResolved
)
InputEvent = ReferenceEvent | VisitEvent
Event = InputEvent | OutputEvent

EVENT_MODELS: dict[str, type[ContractEvent]] = {
    model.model_fields["event_type"].default: model
    for model in (
        LotDefined,
        ProviderRegistered,
        ClientRegistered,
        CarerRegistered,
        CarePackageAgreed,
        RateCardPublished,
        ContractRulesSet,
        VisitPlanned,
        VisitChanged,
        VisitCancelled,
        CarerCheckedIn,
        CarerCheckedOut,
        CallTimeCorrected,
        VisitOutcomeRecorded,
        AlertRaised,
        AlertResolved,
        VisitExceptionRaised,
        VisitExceptionResolved,
    )
}
"""Every event type of contract v1, by its ``event_type``."""

_ANY_EVENT: TypeAdapter[Event] = TypeAdapter(
    Annotated[Event, Field(discriminator="event_type")]
)


def _field_path(loc: tuple[int | str, ...]) -> str:
    # The first element of a discriminated-union location is the tag; drop it.
    parts = [str(p) for p in loc]
    if parts and parts[0] in EVENT_MODELS:
        parts = parts[1:]
    return ".".join(parts) or "(event)"


def contract_error(exc: ValidationError) -> ContractError:
    """Translate a pydantic validation error into a ``ContractError`` naming each field."""
    errors = []
    for err in exc.errors(include_url=False):
        field, reason = _field_path(err["loc"]), err["msg"]
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            field = "event_type"
            reason = f"must be one of {', '.join(sorted(EVENT_MODELS))}"
        elif err["type"] == "value_error":
            # Cross-field rules raise "field: reason" (see the models' validators).
            reason = reason.removeprefix("Value error, ")
            named, sep, rest = reason.partition(": ")
            if sep and named.replace(".", "").replace("_", "").isalnum():
                field = ".".join(p for p in (field.strip("()"), named) if p and p != "event")
                reason = rest
        errors.append(FieldError(field, reason))
    return ContractError(errors)


def parse_event(payload: bytes | str | dict[str, Any]) -> Event:
    """Validate one event of any type.

    Args:
        payload: JSON bytes or text, or an already decoded dict.

    Returns:
        The frozen model for the payload's ``event_type``.

    Raises:
        ContractError: the payload is not JSON, or not a valid event; each failing
            field is named with its reason.

    """
    try:
        if isinstance(payload, dict):
            return _ANY_EVENT.validate_python(payload)
        return _ANY_EVENT.validate_json(payload)
    except ValidationError as exc:
        raise contract_error(exc) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError([FieldError("(event)", f"not valid JSON: {exc}")]) from None


def dump_event(event: ContractEvent) -> bytes:
    """Serialise an event to compact JSON bytes (the inverse of ``parse_event``)."""
    return event.model_dump_json(exclude_none=False).encode()


__all__ = [
    "EVENT_MODELS",
    "SCHEMA_VERSION",
    "AlertKind",
    "AlertRaised",
    "AlertResolved",
    "CallEvent",
    "CallLengthFactor",
    "CallTimeCorrected",
    "CancelledBy",
    "CarePackageAgreed",
    "CarerCheckedIn",
    "CarerCheckedOut",
    "CarerRegistered",
    "CheckMethod",
    "ClientRegistered",
    "ContractError",
    "ContractEvent",
    "ContractRules",
    "ContractRulesSet",
    "CorrectionAudit",
    "Event",
    "ExceptionKind",
    "FieldError",
    "InputEvent",
    "Location",
    "LotDefined",
    "OutputEvent",
    "ProviderKind",
    "ProviderRegistered",
    "Punctuality",
    "RateCardPublished",
    "ReferenceEvent",
    "Rurality",
    "ScheduleEvent",
    "Service",
    "Tier",
    "VisitCancelled",
    "VisitChanged",
    "VisitEvent",
    "VisitExceptionRaised",
    "VisitExceptionResolved",
    "VisitOutcomeRecorded",
    "VisitPlanned",
    "VisitStatus",
    "contract_error",
    "dump_event",
    "parse_event",
]
