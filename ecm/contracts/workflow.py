"""Closing the loop: what people do about exceptions, corrections and alerts.

Providers explain exceptions and acknowledge alerts; the council accepts or rejects
explanations, approves late call-time corrections, escalates and closes alerts. Each act
is one immutable event with a stable ``event_id`` (a resend changes nothing), keyed by the
visit it concerns, so the visit engine folds it with the visit's other facts in order and
``ecm replay`` reaches the same verified statuses and money. Codes come from the council's
reference list (``reason_codes_published``); the rules are in docs/rules.md ("Closing the
loop").
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from ecm.contracts.common import ContractEvent, Effective, Identifier, Service
from ecm.contracts.outputs import AlertKind, AlertKindV2, ExceptionKindV2

Code = str
"""A reason, resolution or outcome code: lower-case letters, digits and underscores."""

_CODE = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
_TEXT = r"^[^\x00]*$"  # free text PostgreSQL can store (no NUL characters)
_NOTE = Field(default=None, min_length=1, max_length=1000, pattern=_TEXT)


class CodePurpose(StrEnum):
    """What a code of the council's list is for."""

    EXPLANATION = "explanation"
    """A provider's reason for an exception (e.g. ``phone_battery_dead``)."""
    RESOLUTION = "resolution"
    """The council's reason for accepting or rejecting an explanation."""
    ALERT_OUTCOME = "alert_outcome"
    """What was done about an alert (e.g. ``carer_sent``, ``client_safe``)."""
    FRUSTRATION = "frustration"
    """Why a carer who arrived could not deliver care (e.g. ``no_answer``)."""


class CodeCategory(StrEnum):
    """Whether the council is content with the reason (Texas HHSC's preferred/non-preferred)."""

    PREFERRED = "preferred"
    NON_PREFERRED = "non_preferred"


class ReasonCode(BaseModel):
    """One code of the council's list."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Code = _CODE
    label: str = Field(min_length=1, max_length=200, pattern=_TEXT)
    purpose: CodePurpose
    category: CodeCategory = CodeCategory.PREFERRED
    note_required: bool = Field(default=False, description="A free-text note must go with it.")
    settles: tuple[ExceptionKindV2, ...] = Field(
        default=(),
        description="Exception kinds an explanation with this code may settle; empty: any kind.",
    )


class ReasonCodesPublished(ContractEvent, Effective):
    """The council's list of reason, resolution and outcome codes, from a local date.

    A list replaces the whole previous list from its own ``effective_from``; the past keeps
    the list that applied then. ``code_list_id`` names the version.
    """

    event_type: Literal["reason_codes_published"] = "reason_codes_published"
    code_list_id: Identifier
    codes: tuple[ReasonCode, ...] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _unique(self) -> ReasonCodesPublished:
        seen: set[tuple[str, str]] = set()
        for code in self.codes:
            key = (code.purpose.value, code.code)
            if key in seen:
                raise ValueError(f"codes: {code.code} appears twice for {code.purpose.value}")
            seen.add(key)
        return self


class AlertMonitoringSet(ContractEvent):
    """Alerts for one client, or one service, are "monitor only" for a period.

    Monitor-only alerts are still raised and recorded, but nobody is paged and they do not
    escalate. A later record with the same ``monitoring_id`` replaces the period (ending
    it early when ``until`` is now).
    """

    event_type: Literal["alert_monitoring_set"] = "alert_monitoring_set"
    monitoring_id: Identifier
    client_id: Identifier | None = None
    service: Service | None = None
    starts: AwareDatetime
    until: AwareDatetime
    set_by: Identifier
    reason: str = Field(min_length=1, max_length=1000, pattern=_TEXT)

    @model_validator(mode="after")
    def _scoped(self) -> AlertMonitoringSet:
        if self.client_id is None and self.service is None:
            raise ValueError("client_id: give a client_id or a service (or both)")
        if self.until < self.starts:
            raise ValueError("until: must not be before starts")
        return self


class ActorRole(StrEnum):
    """Who acted, as far as the contract is concerned."""

    PROVIDER = "provider"
    CONTRACT_MANAGER = "contract_manager"
    DUTY_OFFICER = "duty_officer"
    ADMIN = "admin"
    SYSTEM = "system"
    """ecm itself (an escalation on timeout)."""


class _Act(ContractEvent):
    """Someone did something about a visit: who, with which role, when (``occurred_at``)."""

    visit_id: Identifier
    provider_id: Identifier
    by: Identifier = Field(description="The person who acted (a user id).")
    by_role: ActorRole
    note: str | None = _NOTE


class ExceptionExplained(_Act):
    """A provider explains an exception with a code from the council's list."""

    event_type: Literal["exception_explained"] = "exception_explained"
    exception_id: str = Field(min_length=1, max_length=200)
    reason_code: Code = _CODE


class Decision(StrEnum):
    """The council's answer to an explanation or a held request."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ExceptionDecided(_Act):
    """The council accepts or rejects a provider's explanation of an exception."""

    event_type: Literal["exception_decided"] = "exception_decided"
    exception_id: str = Field(min_length=1, max_length=200)
    decision: Decision
    resolution_code: Code = _CODE


class CorrectionDecided(_Act):
    """The council approves or refuses a call-time correction held for being late."""

    event_type: Literal["correction_decided"] = "correction_decided"
    correction_event_id: Identifier = Field(description="The held call_time_corrected event.")
    decision: Decision


class VisitFrustrated(_Act):
    """A carer arrived but could not deliver care (no answer, refused entry, not at home).

    ``occurred_at`` is when the carer gave up. The visit is neither missed nor delivered;
    what is paid is a contract rule (default nothing).
    """

    event_type: Literal["visit_frustrated"] = "visit_frustrated"
    client_id: Identifier
    carer_id: Identifier
    reason_code: Code = _CODE


class AlertTier(StrEnum):
    """Who has an alert: the provider's on-call, then the council's duty team, then a manager."""

    PROVIDER_ON_CALL = "provider_on_call"
    COUNCIL_DUTY = "council_duty"
    MANAGER = "manager"


class AlertAcknowledged(_Act):
    """Someone has an alert in hand, and says what they are doing about it."""

    event_type: Literal["alert_acknowledged"] = "alert_acknowledged"
    alert_id: str = Field(min_length=1, max_length=160)
    action_taken: str = Field(min_length=1, max_length=1000, pattern=_TEXT)


class AlertEscalated(_Act):
    """A council officer passes an alert to a higher tier by hand."""

    event_type: Literal["alert_escalated"] = "alert_escalated"
    alert_id: str = Field(min_length=1, max_length=160)
    to_tier: AlertTier


class AlertClosed(_Act):
    """An alert is closed with an outcome code (e.g. carer sent, client safe)."""

    event_type: Literal["alert_closed"] = "alert_closed"
    alert_id: str = Field(min_length=1, max_length=160)
    outcome_code: Code = _CODE


class ExceptionStatus(StrEnum):
    """Where an exception stands in the workflow (docs/rules.md, "Closing the loop")."""

    OPEN = "open"
    EXPLAINED = "explained"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SETTLED = "settled"
    """Settled by later facts (e.g. the missing check-out arrived)."""


class ExceptionStatusChanged(ContractEvent):
    """An exception moved in the workflow (emitted by ecm; one record per move).

    ``event_id`` is derived from the act that moved it, so a replay repeats it exactly;
    ``occurred_at`` is when the act happened, ``learned_at`` when ecm judged it.
    """

    event_type: Literal["exception_status_changed"] = "exception_status_changed"
    exception_id: str = Field(min_length=1, max_length=200)
    kind: ExceptionKindV2
    visit_id: Identifier
    provider_id: Identifier
    status: ExceptionStatus
    code: Code | None = Field(default=None, description="The reason or resolution code.")
    note: str | None = _NOTE
    by: Identifier | None = None
    by_role: ActorRole | None = None
    caused_by: Identifier | None = Field(default=None, description="The act's event_id.")
    learned_at: AwareDatetime


class AlertAction(StrEnum):
    """What happened to an alert after it was raised."""

    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    CLOSED = "closed"
    MONITOR_ONLY = "monitor_only"
    """Raised while monitor-only applied: recorded, nobody paged, never escalated."""


class AlertHandled(ContractEvent):
    """An alert was acknowledged, escalated, closed or set aside as monitor-only (by ecm).

    ``tier`` is who has the alert after this; ``occurred_at`` is when it happened and
    ``learned_at`` when ecm judged it (an escalation on timeout has both at its due time).
    """

    event_type: Literal["alert_handled"] = "alert_handled"
    alert_id: str = Field(min_length=1, max_length=160)
    kind: AlertKind
    visit_id: Identifier
    provider_id: Identifier
    client_id: Identifier
    action: AlertAction
    tier: AlertTier
    by: Identifier
    by_role: ActorRole
    code: Code | None = Field(default=None, description="The outcome code of a closure.")
    note: str | None = _NOTE
    caused_by: Identifier | None = Field(default=None, description="The act's event_id.")
    learned_at: AwareDatetime


class AlertHandledV2(AlertHandled):
    """An alert was acknowledged, closed or set aside (schema version 2: ``at_risk`` too).

    ecm sends version 2 only for the alert kinds version 1 lacks. An ``at_risk`` warning
    is never escalated on timeout; it can be acknowledged, closed or escalated by hand.
    """

    schema_version: Literal[2] = 2  # type: ignore[assignment]
    kind: AlertKindV2  # type: ignore[assignment]


WORKFLOW_ACTS = (
    ExceptionExplained,
    ExceptionDecided,
    CorrectionDecided,
    VisitFrustrated,
    AlertAcknowledged,
    AlertEscalated,
    AlertClosed,
)
"""Acts people send about one visit (keyed by ``visit_id``, on the visit-events topic)."""
