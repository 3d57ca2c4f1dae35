"""The wire contract (v1): every event providers send and the service emits.

``parse_event`` turns bytes, text or a dict into the right frozen model, or raises
``ContractError`` naming each failing field; ``dump_event`` is its inverse.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Union

from pydantic import Discriminator, Tag, TypeAdapter, ValidationError

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
    AlertKindV2,
    AlertRaised,
    AlertRaisedV2,
    AlertResolved,
    AlertResolvedV2,
    CorrectionAudit,
    ExceptionKind,
    ExceptionKindV2,
    ExceptionKindV3,
    PublishedVersion,
    Punctuality,
    TrustDeduction,
    Verification,
    VisitExceptionRaised,
    VisitExceptionRaisedV2,
    VisitExceptionRaisedV3,
    VisitExceptionResolved,
    VisitExceptionResolvedV2,
    VisitExceptionResolvedV3,
    VisitOutcomeRecorded,
    VisitOutcomeRecordedV2,
    VisitOutcomeRecordedV3,
    VisitStatus,
    VisitStatusV2,
)
from ecm.contracts.reference import (
    CallLengthFactor,
    CarePackageAgreed,
    CarerRegistered,
    ClientRegistered,
    ContractRules,
    ContractRulesSet,
    ContractRulesSetV2,
    ContractRulesSetV3,
    ContractRulesV2,
    ContractRulesV3,
    LotDefined,
    ProviderRegistered,
    RateCardPublished,
)
from ecm.contracts.rota import GapStatus, TravelGapJudged
from ecm.contracts.schedule import (
    VisitCancelled,
    VisitChanged,
    VisitChangedV2,
    VisitPlanned,
    VisitPlannedV2,
)
from ecm.contracts.workflow import (
    ActorRole,
    AlertAcknowledged,
    AlertAction,
    AlertClosed,
    AlertEscalated,
    AlertHandled,
    AlertHandledV2,
    AlertMonitoringSet,
    AlertTier,
    CodeCategory,
    CodePurpose,
    CorrectionDecided,
    Decision,
    ExceptionDecided,
    ExceptionExplained,
    ExceptionStatus,
    ExceptionStatusChanged,
    ReasonCode,
    ReasonCodesPublished,
    VisitFrustrated,
)

ReferenceEvent = (
    LotDefined
    | ProviderRegistered
    | ClientRegistered
    | CarerRegistered
    | CarePackageAgreed
    | RateCardPublished
    | ContractRulesSet
    | ReasonCodesPublished
    | AlertMonitoringSet
)
ScheduleEvent = VisitPlanned | VisitChanged | VisitCancelled
CallEvent = CarerCheckedIn | CarerCheckedOut | CallTimeCorrected
WorkflowAct = (
    ExceptionExplained
    | ExceptionDecided
    | CorrectionDecided
    | VisitFrustrated
    | AlertAcknowledged
    | AlertEscalated
    | AlertClosed
)
VisitEvent = ScheduleEvent | CallEvent | WorkflowAct
OutputEvent = (
    VisitOutcomeRecorded
    | AlertRaised
    | AlertResolved
    | VisitExceptionRaised
    | VisitExceptionResolved
    | ExceptionStatusChanged
    | AlertHandled
    | TravelGapJudged
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
        ReasonCodesPublished,
        AlertMonitoringSet,
        VisitPlanned,
        VisitChanged,
        VisitCancelled,
        CarerCheckedIn,
        CarerCheckedOut,
        CallTimeCorrected,
        ExceptionExplained,
        ExceptionDecided,
        CorrectionDecided,
        VisitFrustrated,
        AlertAcknowledged,
        AlertEscalated,
        AlertClosed,
        VisitOutcomeRecorded,
        AlertRaised,
        AlertResolved,
        VisitExceptionRaised,
        VisitExceptionResolved,
        ExceptionStatusChanged,
        AlertHandled,
        TravelGapJudged,
    )
}
"""Every event type of contract v1, by its ``event_type``."""

EVENT_VERSIONS: dict[int, dict[str, type[ContractEvent]]] = {
    2: {
        "visit_exception_raised": VisitExceptionRaisedV2,
        "visit_exception_resolved": VisitExceptionResolvedV2,
        "visit_outcome_recorded": VisitOutcomeRecordedV2,
        "contract_rules_set": ContractRulesSetV2,
        "visit_planned": VisitPlannedV2,
        "visit_changed": VisitChangedV2,
        "alert_raised": AlertRaisedV2,
        "alert_resolved": AlertResolvedV2,
        "alert_handled": AlertHandledV2,
    },
    3: {
        "visit_exception_raised": VisitExceptionRaisedV3,
        "visit_exception_resolved": VisitExceptionResolvedV3,
        "contract_rules_set": ContractRulesSetV3,
        "visit_outcome_recorded": VisitOutcomeRecordedV3,
    },
}
"""Event types with a later schema version, by version then ``event_type``.

Every earlier version of a type stays valid: a version is added, never changed.
"""

EVENT_MODELS_V2 = EVENT_VERSIONS[2]
"""Event types with a schema version 2, by ``event_type`` (version 1 stays valid)."""
EVENT_MODELS_V3 = EVENT_VERSIONS[3]
"""Event types with a schema version 3, by ``event_type`` (versions 1 and 2 stay valid)."""


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def _version_tag(value: Any) -> str | None:
    """``event_type``, with ``@2`` (``@3``) for a later version of a type that has one."""
    event_type, version = (_field(value, "event_type"), _field(value, "schema_version"))
    if not isinstance(event_type, str):
        return None
    if type(version) is int and event_type in EVENT_VERSIONS.get(version, {}):
        return f"{event_type}@{version}"
    return event_type


_TAGGED: Any = tuple(
    [Annotated[model, Tag(event_type)] for event_type, model in EVENT_MODELS.items()]
    + [Annotated[model, Tag(f"{event_type}@{version}")]
       for version, models in EVENT_VERSIONS.items() for event_type, model in models.items()]
)
_ANY_EVENT: TypeAdapter[Event] = TypeAdapter(
    Annotated[Union[_TAGGED], Discriminator(_version_tag)]  # noqa: UP007
)


def _field_path(loc: tuple[int | str, ...]) -> str:
    # The first element of a discriminated-union location is the tag; drop it.
    parts = [str(p) for p in loc]
    if parts and parts[0].partition("@")[0] in EVENT_MODELS:
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
    "EVENT_MODELS_V2",
    "EVENT_MODELS_V3",
    "EVENT_VERSIONS",
    "SCHEMA_VERSION",
    "ActorRole",
    "AlertAcknowledged",
    "AlertAction",
    "AlertClosed",
    "AlertEscalated",
    "AlertHandled",
    "AlertHandledV2",
    "AlertKind",
    "AlertKindV2",
    "AlertMonitoringSet",
    "AlertRaised",
    "AlertRaisedV2",
    "AlertResolved",
    "AlertResolvedV2",
    "AlertTier",
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
    "CodeCategory",
    "CodePurpose",
    "ContractError",
    "ContractEvent",
    "ContractRules",
    "ContractRulesSet",
    "ContractRulesSetV2",
    "ContractRulesSetV3",
    "ContractRulesV2",
    "ContractRulesV3",
    "CorrectionAudit",
    "CorrectionDecided",
    "Decision",
    "Event",
    "ExceptionDecided",
    "ExceptionExplained",
    "ExceptionKind",
    "ExceptionKindV2",
    "ExceptionKindV3",
    "ExceptionStatus",
    "ExceptionStatusChanged",
    "FieldError",
    "GapStatus",
    "InputEvent",
    "Location",
    "LotDefined",
    "OutputEvent",
    "ProviderKind",
    "ProviderRegistered",
    "PublishedVersion",
    "Punctuality",
    "RateCardPublished",
    "ReasonCode",
    "ReasonCodesPublished",
    "ReferenceEvent",
    "Rurality",
    "ScheduleEvent",
    "Service",
    "Tier",
    "TravelGapJudged",
    "TrustDeduction",
    "Verification",
    "VisitCancelled",
    "VisitChanged",
    "VisitChangedV2",
    "VisitEvent",
    "VisitExceptionRaised",
    "VisitExceptionRaisedV2",
    "VisitExceptionRaisedV3",
    "VisitExceptionResolved",
    "VisitExceptionResolvedV2",
    "VisitExceptionResolvedV3",
    "VisitFrustrated",
    "VisitOutcomeRecorded",
    "VisitOutcomeRecordedV2",
    "VisitOutcomeRecordedV3",
    "VisitPlanned",
    "VisitPlannedV2",
    "VisitStatus",
    "VisitStatusV2",
    "WorkflowAct",
    "contract_error",
    "dump_event",
    "parse_event",
]
