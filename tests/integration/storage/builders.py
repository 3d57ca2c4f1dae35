"""Contract events built by hand for the storage tests (Europe/London is UTC+1 in June 2024)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ecm.contracts import (
    AlertRaised,
    AlertResolved,
    CarePackageAgreed,
    CarerCheckedIn,
    CheckMethod,
    GapStatus,
    Service,
    TravelGapJudged,
    VisitExceptionRaised,
    VisitOutcomeRecorded,
    VisitStatus,
)

BST = timezone(timedelta(hours=1))


def at(day: date, hh: int, mm: int = 0) -> datetime:
    """A local (BST) time on ``day``."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=BST)


def outcome(visit_id: str, day: date, **fields: Any) -> VisitOutcomeRecorded:
    """A completed, on-time, 60-minute single-handed home-care visit at 09:00, unless overridden."""
    iso = day.isocalendar()
    base: dict[str, Any] = {
        "event_id": f"out-{visit_id}-{fields.pop('version', 1)}",
        "occurred_at": at(day, 23),
        "visit_id": visit_id,
        "provider_id": "P1",
        "client_id": "C1",
        "lot_id": "L1",
        "service": Service.HOME_CARE,
        "tier": "standard",
        "iso_week": f"{iso.year}-W{iso.week:02d}",
        "local_date": day,
        "scheduled": True,
        "status": VisitStatus.COMPLETED,
        "planned_start": at(day, 9),
        "planned_end": at(day, 10),
        "planned_minutes": 60,
        "carers_required": 1,
        "first_check_in": at(day, 9),
        "punctuality": "on_time",
        "lateness_minutes": 0,
        "carer_ids": ("K1",),
        "delivered_seconds": 3600,
        "payable_gbp": Decimal("24.00"),
        "electronic": True,
    }
    base.update(fields)
    return VisitOutcomeRecorded(**base)


def not_checked_in(
    visit_id: str, day: date, status: VisitStatus, **fields: Any
) -> VisitOutcomeRecorded:
    """A visit nobody checked in to (missed, cancelled or still planned)."""
    empty: dict[str, Any] = {
        "status": status,
        "first_check_in": None,
        "punctuality": None,
        "lateness_minutes": None,
        "carer_ids": (),
        "delivered_seconds": 0,
        "payable_gbp": Decimal("0.00"),
        "electronic": False,
    }
    empty.update(fields)
    return outcome(visit_id, day, **empty)


def package(
    package_id: str, hours: str, start: date, end: date | None = None, **f: Any
) -> CarePackageAgreed:
    """A home-care package of ``hours`` a week for client C1 with provider P1 in lot L1."""
    base: dict[str, Any] = {
        "event_id": f"pkg-{package_id}-{start}",
        "occurred_at": at(start, 8),
        "package_id": package_id,
        "client_id": "C1",
        "provider_id": "P1",
        "lot_id": "L1",
        "service": Service.HOME_CARE,
        "weekly_hours": Decimal(hours),
        "effective_from": start,
        "effective_to": end,
    }
    base.update(f)
    return CarePackageAgreed(**base)


def check_in(event_id: str, visit_id: str, when: datetime) -> CarerCheckedIn:
    """An app check-in by carer K1 at client C1."""
    return CarerCheckedIn(
        event_id=event_id,
        occurred_at=when,
        provider_id="P1",
        visit_id=visit_id,
        client_id="C1",
        carer_id="K1",
        method=CheckMethod.TELEPHONY,
    )


def alert_raised(visit_id: str, when: datetime, event_id: str | None = None) -> AlertRaised:
    """A missed-call alert for ``visit_id``."""
    return AlertRaised(
        event_id=event_id or f"ar-{visit_id}",
        occurred_at=when,
        alert_id=f"{visit_id}:missed",
        kind="missed",
        visit_id=visit_id,
        provider_id="P1",
        client_id="C1",
        lot_id="L1",
        due_at=when,
    )


def alert_resolved(visit_id: str, when: datetime, event_id: str | None = None) -> AlertResolved:
    """The missed-call alert of ``visit_id`` resolved by a late check-in."""
    return AlertResolved(
        event_id=event_id or f"as-{visit_id}",
        occurred_at=when,
        alert_id=f"{visit_id}:missed",
        kind="missed",
        visit_id=visit_id,
        provider_id="P1",
        resolution="late_check_in",
    )


def exception(visit_id: str, kind: str, when: datetime) -> VisitExceptionRaised:
    """An exception of ``kind`` on ``visit_id``."""
    return VisitExceptionRaised(
        event_id=f"ex-{visit_id}-{kind}",
        occurred_at=when,
        exception_id=f"{visit_id}:{kind}",
        kind=kind,
        visit_id=visit_id,
        provider_id="P1",
        client_id="C1",
        detail="test",
    )


def travel_gap(visit_id: str, day: date, **fields: Any) -> TravelGapJudged:
    """Carer K1's gap before ``visit_id`` at 11:00 on ``day``: 10 minutes short of the travel."""
    iso = day.isocalendar()
    base: dict[str, Any] = {
        "event_id": f"gap-{visit_id}-K1", "occurred_at": at(day, 7), "gap_id": f"{visit_id}:K1",
        "carer_id": "K1", "visit_id": visit_id, "provider_id": "P1", "client_id": "C2",
        "lot_id": "L1", "service": Service.HOME_CARE, "iso_week": f"{iso.year}-W{iso.week:02d}",
        "local_date": day, "status": GapStatus.JUDGED, "previous_visit_id": f"{visit_id}-before",
        "previous_client_id": "C1", "gap_seconds": 600, "travel_seconds": 1200,
        "straight_m": 5000, "short": True, "shortfall_seconds": 600,
    }
    base.update(fields)
    return TravelGapJudged(**base)
