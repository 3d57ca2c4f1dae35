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
)
"""Anything that happens to one visit: its schedule, its calls and what people did."""
