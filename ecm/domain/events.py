"""The facts a visit is made of, as plain immutable values (translated from the wire).

Every instant is an aware UTC datetime. Kinds and enums are carried as their string
values so the domain needs nothing from the wire contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class CancelledBy(StrEnum):
    """Who called a visit off."""

    CLIENT = "client"
    COUNCIL = "council"
    HOSPITAL_ADMISSION = "hospital_admission"
    PROVIDER = "provider"


EXCUSED_CANCELLERS = frozenset(
    {CancelledBy.CLIENT, CancelledBy.COUNCIL, CancelledBy.HOSPITAL_ADMISSION}
)
"""Cancellations that make a visit 'cancelled' rather than missed (before its start)."""

MANUAL = "manual"
APP_GPS = "app_gps"


@dataclass(frozen=True, slots=True)
class VisitPlanned:
    """A visit put on the rota."""

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    client_id: str
    service: str
    tier: str
    planned_start: datetime
    planned_end: datetime
    carers_required: int = 1
    time_critical: bool = False
    package_id: str | None = None
    planned_carer_ids: tuple[str, ...] = ()
    """The carers planned for the visit (none named: ``()``)."""


@dataclass(frozen=True, slots=True)
class VisitChanged:
    """New planned times and carers for a visit already on the rota."""

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    planned_start: datetime
    planned_end: datetime
    carers_required: int = 1
    time_critical: bool = False
    planned_carer_ids: tuple[str, ...] | None = None
    """The carers now planned, replacing the old ones; ``None`` keeps the old ones."""


@dataclass(frozen=True, slots=True)
class VisitCancelled:
    """A visit called off, and by whom."""

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    cancelled_by: str


@dataclass(frozen=True, slots=True)
class CarerCall:
    """A carer checking in (``check_in`` True) or out; ``occurred_at`` is the captured time."""

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    client_id: str
    carer_id: str
    check_in: bool
    method: str
    distance_m: int | None = None  # from the client's registered location; never coordinates
    accuracy_m: int | None = None  # the accuracy the phone claimed for its fix, whole metres
    reason_code: str | None = None

    @property
    def manual(self) -> bool:
        """Whether the time was entered by hand rather than captured electronically."""
        return self.method == MANUAL


@dataclass(frozen=True, slots=True)
class CallTimeCorrected:
    """An audited correction of one carer's check-in or check-out time."""

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    carer_id: str
    check_in: bool
    corrected_time: datetime
    reason_code: str
    corrected_by: str


@dataclass(frozen=True, slots=True)
class ExceptionExplained:
    """A provider explains one of the visit's exceptions with a reason code."""

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    by: str
    by_role: str
    exception_id: str
    reason_code: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ExceptionDecided:
    """The council accepts (``accepted``) or rejects an explanation, with a resolution code."""

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    by: str
    by_role: str
    exception_id: str
    accepted: bool
    resolution_code: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CorrectionDecided:
    """The council approves (``accepted``) or refuses a late call-time correction."""

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    by: str
    by_role: str
    correction_event_id: str
    accepted: bool
    note: str | None = None


@dataclass(frozen=True, slots=True)
class VisitFrustrated:
    """A carer arrived but could not deliver care, for a reason of the council's list."""

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    by: str
    by_role: str
    client_id: str
    carer_id: str
    reason_code: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AlertAcknowledged:
    """Someone has one of the visit's alerts in hand (``action_taken`` says what they do)."""

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    by: str
    by_role: str
    alert_id: str
    action_taken: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AlertEscalated:
    """A council officer passes an alert up to ``to_tier`` by hand."""

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    by: str
    by_role: str
    alert_id: str
    to_tier: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AlertClosed:
    """An alert closed with an outcome code of the council's list."""

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    by: str
    by_role: str
    alert_id: str
    outcome_code: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class NextVisitPlanned:
    """Where one carer planned at this visit goes next on their rota (docs/rules.md, "At risk").

    Sent to the visit by the carer's rota, not by a provider. ``leave_by`` is the latest
    instant the carer can leave this visit and still reach the next one within its on-time
    window; ``next_visit_id`` ``None``: the carer has no next visit that day any more.
    The latest word is the highest ``seq`` (the rota's count of words sent to the visit).
    ``said_at`` is the watermark at which the schedule event that changed the rota was
    received (``None``: before any): from then on this word, not the one before, is in
    force (docs/rules.md, "At risk").
    """

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    carer_id: str
    seq: int
    next_visit_id: str | None = None
    next_provider_id: str | None = None
    next_start: datetime | None = None
    leave_by: datetime | None = None
    said_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CarerRunningLate:
    """The visit before this one says its planned carer cannot reach this one on time.

    Sent by the previous visit's judgement at ``occurred_at``, the instant that became
    known; ``planned_start`` is this visit's planned start it was judged against.
    """

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    carer_id: str
    from_visit_id: str
    planned_start: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class StayQuestioned:
    """What one carer's other calls say against their stay at this visit (carer ledger).

    ``doubts`` are ``(reason, other_visit_id)`` pairs: ``overlap`` (checked in at another
    client at the same time) or ``faster_than_travel`` (checked in here sooner after
    leaving the other client than the travel between them allows); empty: none any more.
    The latest word is the highest ``seq`` (docs/rules.md, "Trust score").
    """

    event_id: str
    occurred_at: datetime
    visit_id: str
    provider_id: str
    carer_id: str
    seq: int
    doubts: tuple[tuple[str, str], ...] = ()


CarerWhereabouts = NextVisitPlanned | CarerRunningLate | StayQuestioned
"""What one visit learns from another about a carer they share (never from a provider)."""

WorkflowAct = (
    ExceptionExplained | ExceptionDecided | CorrectionDecided | VisitFrustrated
    | AlertAcknowledged | AlertEscalated | AlertClosed
)
"""Something a person did about a visit (docs/rules.md, "Closing the loop")."""

WORKFLOW_ACTS = (ExceptionExplained, ExceptionDecided, CorrectionDecided, VisitFrustrated,
                 AlertAcknowledged, AlertEscalated, AlertClosed)

AlertAct = AlertAcknowledged | AlertEscalated | AlertClosed
ExceptionAct = ExceptionExplained | ExceptionDecided

VisitEvent = (
    VisitPlanned | VisitChanged | VisitCancelled | CarerCall | CallTimeCorrected | WorkflowAct
    | CarerWhereabouts
)
"""Anything that happens to one visit: its schedule, its calls and what people did."""
