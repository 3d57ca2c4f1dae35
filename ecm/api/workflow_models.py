"""Request and response bodies of the closing-the-loop routes (``routers/workflow.py``).

Every act names ``by``, the person acting (the key names the organisation), and may
carry ``event_id``: a stable id chosen by the sender, so that sending the request again
changes nothing downstream. Without one, the API makes a fresh id for the act.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field

from ecm.contracts import AlertTier, Decision, Service

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
Person = Annotated[str, Field(min_length=1, max_length=64, pattern=_ID,
                              description="The person who acts (a user id).")]
EventId = Annotated[str | None, Field(
    default=None, min_length=1, max_length=64, pattern=_ID,
    description="A stable id for the act: sending the same request again changes nothing.")]
CodeField = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]
_TEXT = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: the sink could never store it
Note = Annotated[str | None, Field(default=None, min_length=1, max_length=1000, pattern=_TEXT)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExplanationIn(_In):
    """A provider's explanation of an exception."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "by": "coordinator-7", "reason_code": "phone_battery_dead",
        "note": "Carer's phone died; paper timesheet signed by the client."}]})

    by: Person
    reason_code: CodeField
    note: Note = None
    event_id: EventId = None


class DecisionIn(_In):
    """The council's decision on an explanation."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "by": "cm-jones", "decision": "accepted", "resolution_code": "explanation_accepted"}]})

    by: Person
    decision: Decision
    resolution_code: CodeField
    note: Note = None
    event_id: EventId = None


class BulkDecisionIn(DecisionIn):
    """One decision for many explained exceptions: the listed ids, or those the filter finds.

    With a filter, only exceptions awaiting a decision (status ``explained``) are chosen.
    With ``event_id``, each item's act id is derived from it and the exception id.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "by": "cm-jones", "decision": "accepted", "resolution_code": "explanation_accepted",
        "provider_id": "P001", "reason_code": "phone_battery_dead", "from": "2026-01-05",
        "to": "2026-01-11"}]})

    exception_ids: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, min_length=1, max_length=1000)
    provider_id: str | None = Field(default=None, min_length=1, max_length=64)
    reason_code: str | None = Field(default=None, min_length=1, max_length=40)
    kind: str | None = Field(default=None, min_length=1, max_length=40)
    date_from: date | None = Field(default=None, alias="from")
    date_to: date | None = Field(default=None, alias="to")


class CorrectionDecisionIn(_In):
    """The council's decision on a late call-time correction held for approval."""

    by: Person
    decision: Decision
    note: Note = None
    event_id: EventId = None


class FrustratedIn(_In):
    """A carer arrived but could not deliver care."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "by": "coordinator-7", "carer_id": "K-0042", "reason_code": "no_answer",
        "occurred_at": "2026-01-05T09:20:00+00:00"}]})

    by: Person
    carer_id: str = Field(min_length=1, max_length=64, pattern=_ID)
    reason_code: CodeField
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When the carer gave up (default: now). With a UTC offset.")
    note: Note = None
    event_id: EventId = None


class AcknowledgementIn(_In):
    """Someone has the alert in hand."""

    by: Person
    action_taken: str = Field(min_length=1, max_length=1000, pattern=_TEXT,
                              examples=["Phoned the carer"])
    note: Note = None
    event_id: EventId = None


class EscalationIn(_In):
    """Pass an alert to a higher tier by hand."""

    by: Person
    to_tier: AlertTier
    note: Note = None
    event_id: EventId = None


class ClosureIn(_In):
    """Close an alert with an outcome code."""

    by: Person
    outcome_code: CodeField
    note: Note = None
    event_id: EventId = None


class MonitoringIn(_In):
    """Make alerts of a client or a service monitor-only for a period."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    by: Person = Field(validation_alias=AliasChoices("by", "set_by"))
    monitoring_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=_ID,
        description="Give the id of an earlier period to replace it (end it early).")
    client_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=_ID)
    service: Service | None = None
    starts: AwareDatetime
    until: AwareDatetime
    reason: str = Field(min_length=1, max_length=1000, pattern=_TEXT)
    event_id: EventId = None


class ActAccepted(BaseModel):
    """An act acknowledged by Kafka; the engine judges it and publishes what follows."""

    status: str = Field(default="accepted", examples=["accepted"])
    event_id: str
    subject_id: str = Field(description="The exception, alert, correction or visit acted on.")


class ItemResultOut(BaseModel):
    """One item of a bulk decision: accepted (with its act's id) or refused (and why)."""

    exception_id: str
    status: str = Field(examples=["accepted", "refused"])
    event_id: str | None = None
    http_status: int | None = Field(default=None, description="What a single request got.")
    errors: list[dict[str, str]] = []


class BulkOut(BaseModel):
    """Per-item results of a bulk decision; accepted items were acknowledged by Kafka."""

    accepted: int
    refused: int
    items: list[ItemResultOut]


class ActOut(BaseModel):
    """One act in an exception's history."""

    event_id: str
    event_type: str
    code: str | None = None
    decision: str | None = None
    by: str
    by_role: str
    note: str | None = None
    occurred_at: datetime
    received_at: datetime | None = None


class ExceptionOut(BaseModel):
    """An exception and where it stands in the workflow."""

    exception_id: str
    kind: str
    visit_id: str
    provider_id: str
    client_id: str | None = None
    carer_id: str | None = None
    detail: str = ""
    detected_at: datetime
    resolved_at: datetime | None = None
    status: str
    status_code: str | None = None
    status_by: str | None = None
    status_at: datetime | None = None
    status_note: str | None = None
    reason_code: str | None = None
    explained_at: datetime | None = None
    decided_at: datetime | None = None


class ExceptionDetailOut(ExceptionOut):
    """An exception with every act sent about it."""

    history: list[ActOut]


class TimelineEntryOut(BaseModel):
    """One step of an alert's life: when it happened and when ecm learned it."""

    event_id: str
    action: str = Field(examples=["raised", "acknowledged", "escalated", "closed",
                                  "monitor_only", "resolved"])
    tier: str | None = None
    by: str | None = None
    by_role: str | None = None
    code: str | None = None
    note: str | None = None
    occurred_at: datetime = Field(description="When it happened (the fact's time).")
    learned_at: datetime | None = Field(default=None, description="When ecm learned it.")


class AlertDetailOut(BaseModel):
    """An alert, who has it, what was done, and its timeline."""

    alert_id: str
    kind: str
    visit_id: str
    provider_id: str
    client_id: str | None = None
    due_at: datetime | None = None
    raised_at: datetime | None = None
    raised_learned_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_learned_at: datetime | None = None
    resolution: str | None = None
    tier: str
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    action_taken: str | None = None
    escalated_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    outcome_code: str | None = None
    monitor_only: bool = False
    timeline: list[TimelineEntryOut]


class HeldCorrectionOut(BaseModel):
    """A late call-time correction awaiting the council's decision."""

    event_id: str
    visit_id: str
    provider_id: str
    local_date: date | None = None
    occurred_at: datetime | None = None
    correction: dict[str, object] | None = None


class PaymentLineOut(BaseModel):
    """Documented shape of one CSV line of ``/v1/payments.csv`` (money in pounds)."""

    provider_id: str
    visit_id: str
    local_date: date
    payable_gbp: Decimal
    verification: str
    verified_gbp: Decimal
    disputed_gbp: Decimal
    open_exception_ids: str
    why: str
