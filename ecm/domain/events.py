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


VisitEvent = VisitPlanned | VisitChanged | VisitCancelled | CarerCall | CallTimeCorrected
"""Anything that happens to one visit."""
