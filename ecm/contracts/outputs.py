"""What the service emits: visit outcomes, alerts raised and resolved, and exceptions.

Ids of emitted records are stable (derived from the visit and the kind), so a replay
or a redelivery produces the same records and keyed writes stay idempotent.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ecm.contracts.common import CancelledBy, ContractEvent, Identifier, Service, Tier


class VisitStatus(StrEnum):
    """Where a visit stands."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    NO_CHECKOUT = "no_checkout"
    UNVERIFIED = "unverified"
    MISSED = "missed"
    CANCELLED = "cancelled"


class Punctuality(StrEnum):
    """The first check-in against the planned start."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


class AlertKind(StrEnum):
    """Alerts that need a person to act."""

    NOT_ARRIVED = "not_arrived"
    MISSED = "missed"
    NO_CHECKOUT = "no_checkout"


class ExceptionKind(StrEnum):
    """Exceptions kept for reconciliation (docs/rules.md, 'Exceptions')."""

    UNSCHEDULED_VISIT = "unscheduled_visit"
    UNKNOWN_CLIENT = "unknown_client"
    UNKNOWN_CARER = "unknown_carer"
    NO_CHECK_IN = "no_check_in"
    NO_CHECK_OUT = "no_check_out"
    EARLY_OUT = "early_out"
    SHORT_VISIT = "short_visit"
    GPS_DISTANCE = "gps_distance"
    MANUAL_ENTRY = "manual_entry"
    OVERLAPPING_VISITS = "overlapping_visits"
    IMPLAUSIBLE_DURATION = "implausible_duration"
    DUPLICATE_EVENT = "duplicate_event"
    SINGLE_HANDED = "single_handed"
    CLIENT_MISMATCH = "client_mismatch"
    UNKNOWN_VISIT = "unknown_visit"
    NO_RATE_CARD = "no_rate_card"


class CorrectionAudit(BaseModel):
    """One audited correction: who changed which time, when, from what to what.

    The original capture is kept: ``original_time`` is the value before the change
    (``None`` when nothing had been captured).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    carer_id: Identifier
    corrects: Literal["check_in", "check_out"]
    original_time: AwareDatetime | None
    corrected_time: AwareDatetime
    corrected_by: Identifier
    corrected_at: AwareDatetime
    reason_code: str = Field(min_length=1, max_length=40)
    event_id: Identifier


class VisitOutcomeRecorded(ContractEvent):
    """The current outcome of one planned or unscheduled visit.

    A later outcome for the same ``visit_id`` supersedes an earlier one.
    """

    event_type: Literal["visit_outcome_recorded"] = "visit_outcome_recorded"
    visit_id: Identifier
    provider_id: Identifier
    client_id: Identifier
    lot_id: Identifier | None
    service: Service | None
    tier: Tier | None
    iso_week: str = Field(pattern=r"^\d{4}-W\d{2}$", description="ISO week, Europe/London.")
    local_date: date = Field(description="Day of the planned start (or first check-in).")
    scheduled: bool
    status: VisitStatus
    cancelled_by: CancelledBy | None = None
    planned_start: AwareDatetime | None = None
    planned_end: AwareDatetime | None = None
    planned_minutes: int = Field(ge=0)
    carers_required: int = Field(ge=1)
    time_critical: bool = False
    first_check_in: AwareDatetime | None = None
    punctuality: Punctuality | None = None
    lateness_minutes: int | None = Field(default=None, ge=0)
    carer_ids: tuple[Identifier, ...] = Field(description="Carers who checked in, sorted.")
    delivered_seconds: int = Field(ge=0, description="Verified carer time, summed over carers.")
    payable_gbp: Decimal = Field(ge=0, decimal_places=2)
    short: bool = False
    single_handed: bool = False
    manual_entry: bool = False
    electronic: bool = Field(description="Checked in, with every time captured electronically.")
    max_distance_m: int | None = Field(default=None, ge=0)
    corrections: tuple[CorrectionAudit, ...] = Field(
        default=(), description="Audit trail of corrected call times (originals kept)."
    )


class AlertRaised(ContractEvent):
    """Someone must act: a carer has not arrived, a call is missed, or not checked out."""

    event_type: Literal["alert_raised"] = "alert_raised"
    alert_id: str = Field(min_length=1, max_length=160)
    kind: AlertKind
    visit_id: Identifier
    provider_id: Identifier
    client_id: Identifier
    lot_id: Identifier | None
    due_at: AwareDatetime = Field(description="The deadline that passed.")


class AlertResolved(ContractEvent):
    """An alert closed by what happened afterwards (a late check-in, a cancellation)."""

    event_type: Literal["alert_resolved"] = "alert_resolved"
    alert_id: str = Field(min_length=1, max_length=160)
    kind: AlertKind
    visit_id: Identifier
    provider_id: Identifier
    resolution: str = Field(min_length=1, max_length=80)


class VisitExceptionRaised(ContractEvent):
    """An exception to reconcile; never dropped, one record per visit, kind and carer.

    ``exception_id`` is ``visit_id:kind`` or ``visit_id:kind:carer_id`` (for a duplicate
    event, ``visit_id:duplicate_event:event_id``); ``occurred_at`` is when it arose.
    """

    event_type: Literal["visit_exception_raised"] = "visit_exception_raised"
    exception_id: str = Field(min_length=1, max_length=200)
    kind: ExceptionKind
    visit_id: Identifier
    provider_id: Identifier
    client_id: Identifier | None = None
    carer_id: Identifier | None = None
    detail: str = Field(default="", max_length=500)


class VisitExceptionResolved(ContractEvent):
    """An exception that no longer holds, given facts that arrived later.

    For example an unscheduled visit whose plan arrived late, or a missing check-out
    that was then sent. ``occurred_at`` is the time of the fact that settled it.
    """

    event_type: Literal["visit_exception_resolved"] = "visit_exception_resolved"
    exception_id: str = Field(min_length=1, max_length=200)
    kind: ExceptionKind
    visit_id: Identifier
    provider_id: Identifier


ExceptionKindV2 = StrEnum(  # type: ignore[misc]  # members built from version 1's
    "ExceptionKindV2",
    [(kind.name, kind.value) for kind in ExceptionKind]
    + [("LOCATION_UNVERIFIABLE", "location_unverifiable")],
)
ExceptionKindV2.__doc__ = """Exception kinds of schema version 2: version 1's and one more.

A check-in whose phone reported an accuracy worse than the distance limit cannot be judged
near or far: it is ``location_unverifiable``, not ``gps_distance``. Built from version 1's
kinds, so the two can never drift apart.
"""


class VisitExceptionRaisedV2(VisitExceptionRaised):
    """An exception to reconcile (schema version 2: kinds version 1 does not know).

    ecm sends version 2 only for the kinds version 1 lacks, so a version 1 reader keeps
    reading every exception it understands and can set aside the versions it does not.
    """

    schema_version: Literal[2] = 2  # type: ignore[assignment]
    kind: ExceptionKindV2  # type: ignore[assignment]


class VisitExceptionResolvedV2(VisitExceptionResolved):
    """An exception that no longer holds (schema version 2, as ``VisitExceptionRaisedV2``)."""

    schema_version: Literal[2] = 2  # type: ignore[assignment]
    kind: ExceptionKindV2  # type: ignore[assignment]


VisitStatusV2 = StrEnum(  # type: ignore[misc]  # members built from version 1's
    "VisitStatusV2",
    [(status.name, status.value) for status in VisitStatus] + [("FRUSTRATED", "frustrated")],
)
VisitStatusV2.__doc__ = """Visit statuses of schema version 2: version 1's and ``frustrated``."""


class Verification(StrEnum):
    """Whether what is payable on a visit can be paid (docs/rules.md, "Closing the loop")."""

    VERIFIED = "verified"
    """No exception of the visit is open, explained or rejected, and no correction is held."""
    IN_DISPUTE = "in_dispute"


class VisitOutcomeRecordedV2(VisitOutcomeRecorded):
    """The current outcome of a visit (schema version 2: verification and frustrated visits).

    ecm sends version 2 only for visits version 1 cannot describe: a visit with an
    exception that needs a decision, or a frustrated visit. A version 1 outcome means the
    visit is verified and all of ``payable_gbp`` is payable.
    """

    schema_version: Literal[2] = 2  # type: ignore[assignment]
    status: VisitStatusV2  # type: ignore[assignment]
    verification: Verification
    verified_gbp: Decimal = Field(ge=0, decimal_places=2)
    disputed_gbp: Decimal = Field(ge=0, decimal_places=2)
    frustrated_reason: str | None = Field(default=None, max_length=40)
    held_corrections: tuple[Identifier, ...] = Field(
        default=(),
        description="Late call-time corrections awaiting the council's approval (event ids); "
        "the outcome is judged without them until approved.",
    )


ExceptionKindV3 = StrEnum(  # type: ignore[misc]  # members built from version 2's
    "ExceptionKindV3",
    [(kind.name, kind.value) for kind in ExceptionKindV2]
    + [("INSUFFICIENT_TRAVEL_TIME", "insufficient_travel_time")],
)
ExceptionKindV3.__doc__ = """Exception kinds of schema version 3: version 2's and one more.

``insufficient_travel_time``: a carer's rota leaves less time between two consecutive
visits of a day than the travel between the two clients needs (docs/rules.md, "Rota
realism"). Built from version 2's kinds, so the versions can never drift apart.
"""


class VisitExceptionRaisedV3(VisitExceptionRaised):
    """An exception to reconcile (schema version 3: a rota that leaves too little travel time).

    ecm sends version 3 only for the kinds versions 1 and 2 lack.
    """

    schema_version: Literal[3] = 3  # type: ignore[assignment]
    kind: ExceptionKindV3  # type: ignore[assignment]


class VisitExceptionResolvedV3(VisitExceptionResolved):
    """An exception that no longer holds (schema version 3, as ``VisitExceptionRaisedV3``)."""

    schema_version: Literal[3] = 3  # type: ignore[assignment]
    kind: ExceptionKindV3  # type: ignore[assignment]


class TrustDeduction(BaseModel):
    """One reason that lowered a visit's trust score, its points and whom it concerns."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str = Field(min_length=1, max_length=40,
                        description="e.g. manual_check_in, gps_far (docs/rules.md, 'Trust score').")
    points: int = Field(ge=1, le=100)
    carer_id: Identifier | None = None
    ref: str = Field(default="", max_length=200,
                     description="The event (call, correction, duplicate) it concerns.")


class PublishedVersion(BaseModel):
    """A published version of a contract rule change or a rate card."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Identifier = Field(description="The rules_id or rate_card_id.")
    effective_from: date
    event_id: Identifier = Field(description="The event that published this version.")


class VisitOutcomeRecordedV3(VisitOutcomeRecordedV2):
    """The current outcome of a visit (schema version 3: trust score and what judged it).

    Every outcome says how far the evidence of its calls can be trusted (0-100, with the
    deductions that lowered it) and which contract rules and rate card judged it, so a
    rule or rate published later with an effective date in the past can be recalculated
    and compared (docs/rules.md, "Trust score" and "Recalculation"). As every outcome
    says this, ecm sends every outcome as version 3; versions 1 and 2 stay valid to read.
    """

    schema_version: Literal[3] = 3  # type: ignore[assignment]
    trust_score: int = Field(ge=0, le=100)
    trust_deductions: tuple[TrustDeduction, ...] = ()
    rules_applied: tuple[PublishedVersion, ...] = Field(
        default=(), description="Contract rule changes in force, broadest scope first; "
        "none: the defaults.")
    rate_card: PublishedVersion | None = Field(
        default=None, description="The rate card the visit is paid on, if one is in force.")


AlertKindV2 = StrEnum(  # type: ignore[misc]  # members built from version 1's
    "AlertKindV2",
    [(kind.name, kind.value) for kind in AlertKind] + [("AT_RISK", "at_risk")],
)
AlertKindV2.__doc__ = """Alert kinds of schema version 2: version 1's and ``at_risk``.

A planned carer who cannot reach the visit within its on-time window, known before the
visit is late (docs/rules.md, "At risk"). Built from version 1's kinds, so the two can
never drift apart.
"""


class AlertRaisedV2(AlertRaised):
    """Someone must act (schema version 2: the ``at_risk`` warning, which version 1 lacks).

    ecm sends version 2 only for ``at_risk``: a version 1 reader keeps reading every alert
    it understands and can set aside the versions it does not.
    """

    schema_version: Literal[2] = 2  # type: ignore[assignment]
    kind: AlertKindV2  # type: ignore[assignment]


class AlertResolvedV2(AlertResolved):
    """An alert closed by what happened afterwards (schema version 2, as ``AlertRaisedV2``).

    An ``at_risk`` warning is resolved by a check-in (``checked_in``), a cancellation
    (``cancelled``), a frustrated visit (``frustrated``) or a rota change (``rota_changed``).
    """

    schema_version: Literal[2] = 2  # type: ignore[assignment]
    kind: AlertKindV2  # type: ignore[assignment]
