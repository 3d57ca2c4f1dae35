"""Translate between the wire contract (pydantic) and the domain (plain values)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from math import ceil
from typing import Any, TypeVar

from ecm import contracts as c
from ecm.domain import events as d
from ecm.domain.alerts import AlertChange
from ecm.domain.calendar import local_date
from ecm.domain.calls import CorrectionAudit
from ecm.domain.exceptions import VisitException
from ecm.domain.outcome import VisitOutcome, VisitStatus
from ecm.domain.punctuality import Punctuality, lateness_seconds
from ecm.domain.reference import (
    CarerRecord,
    ClientRecord,
    PackageRecord,
    ProviderRecord,
    RateCard,
    ReferenceData,
    Validity,
)
from ecm.domain.rules import RuleChange

M = TypeVar("M", bound=c.ContractEvent)

ReferenceRecord = (
    ClientRecord | CarerRecord | ProviderRecord | PackageRecord | RateCard | RuleChange
)


def _utc(instant: datetime) -> datetime:
    return instant if instant.utcoffset() is None or instant.tzinfo is UTC else \
        instant.astimezone(UTC)


def visit_event(event: c.VisitEvent, reference: ReferenceData | None = None) -> d.VisitEvent:
    """Translate a schedule or call event into the domain's value (instants in UTC).

    A call's location becomes its distance from the client's registered location on the
    call's local day (``None`` when either is unknown) and the accuracy the phone
    claimed: the coordinates themselves go no further (docs/data-protection.md).
    """
    if isinstance(event, c.CarerCheckedIn | c.CarerCheckedOut):
        at, loc = _utc(event.occurred_at), event.location
        distance = accuracy = None
        if loc is not None:
            if reference is not None:
                distance = reference.distance_from_client(event.client_id, local_date(at),
                                                          loc.lat, loc.lon)
            accuracy = None if loc.accuracy_m is None else ceil(loc.accuracy_m)
        return d.CarerCall(
            event.event_id, at, event.visit_id, event.provider_id, event.client_id,
            event.carer_id, isinstance(event, c.CarerCheckedIn), event.method.value,
            distance, accuracy, event.reason_code,
        )
    if isinstance(event, c.VisitPlanned):
        return d.VisitPlanned(
            event.event_id, _utc(event.occurred_at), event.visit_id, event.provider_id,
            event.client_id, event.service.value, event.tier.value, _utc(event.planned_start),
            _utc(event.planned_end), event.carers_required, event.time_critical, event.package_id,
        )
    if isinstance(event, c.VisitChanged):
        return d.VisitChanged(
            event.event_id, _utc(event.occurred_at), event.visit_id, event.provider_id,
            _utc(event.planned_start), _utc(event.planned_end), event.carers_required,
            event.time_critical,
        )
    if isinstance(event, c.VisitCancelled):
        return d.VisitCancelled(event.event_id, _utc(event.occurred_at), event.visit_id,
                                event.provider_id, event.cancelled_by.value)
    return d.CallTimeCorrected(
        event.event_id, _utc(event.occurred_at), event.visit_id, event.provider_id,
        event.carer_id, event.corrects == "check_in", _utc(event.corrected_time),
        event.reason_code, event.corrected_by,
    )


def without_location(event: c.ContractEvent) -> c.ContractEvent:
    """The event with a call's location removed (still a valid contract event).

    What the worker passes on (the carer-calls topic) and what the database keeps of an
    input event: only the input topic holds a carer's coordinates.
    """
    if isinstance(event, c.CarerCheckedIn | c.CarerCheckedOut) and event.location is not None:
        return event.model_copy(update={"location": None})
    return event


def reference_record(event: c.ReferenceEvent) -> ReferenceRecord | None:
    """Translate a reference event into a versioned domain record (lots need none)."""
    if isinstance(event, c.ContractRulesSet):
        overrides = event.rules.model_dump(exclude_none=True)
        return RuleChange(event.rules_id, event.effective_from, overrides, event.lot_id,
                          event.service.value if event.service else None,
                          _utc(event.occurred_at), event.event_id)
    valid = Validity(event.effective_from, event.effective_to, _utc(event.occurred_at),
                     event.event_id)
    if isinstance(event, c.ClientRegistered):
        loc = event.location
        return ClientRecord(valid, event.client_id, event.lot_id, event.rurality.value,
                            loc.lat if loc else None, loc.lon if loc else None)
    if isinstance(event, c.CarerRegistered):
        return CarerRecord(valid, event.carer_id, event.provider_id)
    if isinstance(event, c.ProviderRegistered):
        return ProviderRecord(valid, event.provider_id, event.kind.value, event.lot_ids)
    if isinstance(event, c.CarePackageAgreed):
        return PackageRecord(valid, event.package_id, event.client_id, event.provider_id,
                             event.lot_id, event.service.value, event.tier.value,
                             event.weekly_hours)
    if isinstance(event, c.RateCardPublished):
        return RateCard(
            valid, event.rate_card_id, event.provider_id, event.lot_id, event.service.value,
            event.tier.value, event.hourly_rate,
            {k.value: v for k, v in event.rurality_weighting.items()},
            tuple((f.up_to_minutes, f.factor) for f in event.call_length_factors),
        )
    return None


def _audit(audit: CorrectionAudit) -> c.CorrectionAudit:
    return c.CorrectionAudit.model_construct(
        carer_id=audit.carer_id,
        corrects="check_in" if audit.corrects == "check_in" else "check_out",
        original_time=audit.original,
        corrected_time=audit.corrected, corrected_by=audit.corrected_by,
        corrected_at=audit.corrected_at, reason_code=audit.reason_code, event_id=audit.event_id,
    )


def outcome_id(o: VisitOutcome) -> str:
    """Return the id of an outcome record: the visit and a digest of the judgement.

    Each revision of an outcome is a distinct, immutable event, and the same judgement
    always has the same id (a replay or redelivery sends the same record). The digest
    is of every field, instants as integer microseconds (``repr`` of the outcome itself
    formats each datetime and enum, several times the cost).
    """
    fields = (
        o.visit_id, o.provider_id, o.client_id, o.lot_id, o.service, o.tier, o.iso_week,
        o.local_date.toordinal(), o.scheduled, o.status.value, o.cancelled_by,
        _micros(o.planned_start), _micros(o.planned_end), o.planned_seconds,
        o.carers_required, o.time_critical, _micros(o.first_check_in),
        o.punctuality.value if o.punctuality else None, o.lateness_seconds, o.carer_ids,
        o.delivered_seconds, str(o.payable), o.short, o.single_handed, o.manual_entry,
        o.electronic, o.max_distance_m, _micros(o.updated_at),
        tuple((a.event_id, a.carer_id, a.corrects, _micros(a.original), _micros(a.corrected),
               a.corrected_by, _micros(a.corrected_at), a.reason_code) for a in o.corrections),
    )
    digest = hashlib.blake2b(repr(fields).encode(), digest_size=6).hexdigest()
    return record_id(f"{o.visit_id}:outcome:{digest}")


def _micros(instant: datetime | None) -> int | None:
    """An aware instant as integer microseconds since the epoch (exact, cheap to format)."""
    if instant is None:
        return None
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def outcome_record(o: VisitOutcome, event_id: str | None = None) -> c.VisitOutcomeRecorded:
    """Return the wire record of a visit outcome (its id from ``outcome_id``, if not given)."""
    return c.VisitOutcomeRecorded.model_construct(
        event_id=event_id or outcome_id(o), schema_version=1,
        occurred_at=o.updated_at,
        visit_id=o.visit_id, provider_id=o.provider_id, client_id=o.client_id,
        lot_id=o.lot_id, service=c.Service(o.service) if o.service else None,
        tier=c.Tier(o.tier) if o.tier else None, iso_week=o.iso_week, local_date=o.local_date,
        scheduled=o.scheduled, status=c.VisitStatus(o.status.value),
        cancelled_by=c.CancelledBy(o.cancelled_by) if o.cancelled_by else None,
        planned_start=o.planned_start, planned_end=o.planned_end,
        planned_minutes=o.planned_seconds // 60, carers_required=o.carers_required,
        time_critical=o.time_critical, first_check_in=o.first_check_in,
        punctuality=c.Punctuality(o.punctuality.value) if o.punctuality else None,
        lateness_minutes=None if o.lateness_seconds is None else o.lateness_seconds // 60,
        carer_ids=o.carer_ids, delivered_seconds=o.delivered_seconds,
        payable_gbp=o.payable, short=o.short, single_handed=o.single_handed,
        manual_entry=o.manual_entry, electronic=o.electronic, max_distance_m=o.max_distance_m,
        corrections=tuple(_audit(a) for a in o.corrections),
    )


def alert_record_id(change: AlertChange) -> str:
    """Return the event id ``alert_record`` gives a change (without building the record)."""
    return f"{change.alert_id}:{'raised' if change.raised else 'resolved'}"


def alert_record(change: AlertChange) -> c.AlertRaised | c.AlertResolved:
    """Return the wire record of an alert raised or resolved, stamped at its event time."""
    kind = c.AlertKind(change.kind.value)
    if change.raised:
        return c.AlertRaised.model_construct(
            event_id=alert_record_id(change), schema_version=1, occurred_at=change.at,
            alert_id=change.alert_id, kind=kind, visit_id=change.visit_id,
            provider_id=change.provider_id, client_id=change.client_id, lot_id=change.lot_id,
            due_at=change.due_at,
        )
    return c.AlertResolved.model_construct(
        event_id=alert_record_id(change), schema_version=1, occurred_at=change.at,
        alert_id=change.alert_id, kind=kind, visit_id=change.visit_id,
        provider_id=change.provider_id, resolution=change.resolution or "resolved",
    )


def exception_record(e: VisitException) -> c.VisitExceptionRaised:
    """Return the wire record of an exception (its id doubles as the event id).

    Version 1 for every kind version 1 knows; version 2 only for the kinds it added.
    """
    model, version, kind = _exception_version(e.kind.value, c.VisitExceptionRaised,
                                              c.VisitExceptionRaisedV2)
    fields: dict[str, Any] = {
        "event_id": record_id(e.exception_id), "schema_version": version, "occurred_at": e.at,
        "exception_id": e.exception_id, "kind": kind, "visit_id": e.visit_id,
        "provider_id": e.provider_id, "client_id": e.client_id, "carer_id": e.carer_id,
        "detail": e.detail,
    }
    return model.model_construct(**fields)


def _exception_version(kind: str, v1: type[M], v2: type[M]) -> tuple[type[M], int, StrEnum]:
    if kind in c.ExceptionKind.__members__.values():
        return v1, 1, c.ExceptionKind(kind)
    return v2, 2, c.ExceptionKindV2(kind)


def exception_resolved_record(
    exception_id: str, kind: str, visit_id: str, provider_id: str, at: datetime
) -> c.VisitExceptionResolved:
    """Return the wire record of an exception that no longer holds (stable id)."""
    model, version, wire_kind = _exception_version(kind, c.VisitExceptionResolved,
                                                   c.VisitExceptionResolvedV2)
    fields: dict[str, Any] = {
        "event_id": record_id(f"{exception_id}:resolved"), "schema_version": version,
        "occurred_at": at, "exception_id": exception_id, "kind": wire_kind,
        "visit_id": visit_id, "provider_id": provider_id,
    }
    return model.model_construct(**fields)


def outcome_from_record(o: c.VisitOutcomeRecorded) -> VisitOutcome:
    """Return the domain outcome a wire record states (the inverse of ``outcome_record``).

    Seconds the record rounds to minutes are recomputed from its instants, so the KPI
    measures of ``ecm.domain.kpis`` give the same sums from a record as from the judgement.
    """
    planned = 0
    if o.planned_start is not None and o.planned_end is not None:
        planned = int((o.planned_end - o.planned_start).total_seconds())
    lateness = None
    if o.first_check_in is not None and o.planned_start is not None:
        lateness = lateness_seconds(o.first_check_in, o.planned_start)
    return VisitOutcome(
        visit_id=o.visit_id, provider_id=o.provider_id, client_id=o.client_id,
        lot_id=o.lot_id, service=_value(o.service), tier=_value(o.tier), iso_week=o.iso_week,
        local_date=o.local_date, scheduled=o.scheduled, status=VisitStatus(o.status.value),
        cancelled_by=_value(o.cancelled_by), planned_start=o.planned_start,
        planned_end=o.planned_end, planned_seconds=planned, carers_required=o.carers_required,
        time_critical=o.time_critical, first_check_in=o.first_check_in,
        punctuality=Punctuality(o.punctuality.value) if o.punctuality else None,
        lateness_seconds=lateness, carer_ids=tuple(o.carer_ids),
        delivered_seconds=o.delivered_seconds, payable=o.payable_gbp, short=o.short,
        single_handed=o.single_handed, manual_entry=o.manual_entry, electronic=o.electronic,
        max_distance_m=o.max_distance_m, updated_at=o.occurred_at,
        corrections=tuple(_audit_of(a) for a in o.corrections),
    )


def _audit_of(a: c.CorrectionAudit) -> CorrectionAudit:
    return CorrectionAudit(a.carer_id, a.corrects, a.original_time, a.corrected_time,
                           a.corrected_by, a.corrected_at, a.reason_code, a.event_id)


def _value(value: Any) -> Any:
    return None if value is None else getattr(value, "value", value)


def record_id(long_id: str) -> str:
    """Return a derived id usable as an ``event_id`` (at most 64 characters, stable)."""
    if len(long_id) <= 64:
        return long_id
    return "x:" + hashlib.sha256(long_id.encode()).hexdigest()[:40]


