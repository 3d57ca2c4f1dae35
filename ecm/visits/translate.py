"""Translate between the wire contract (pydantic) and the domain (plain values)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from math import ceil
from typing import Any, TypeVar

from ecm import contracts as c
from ecm.domain import events as d
from ecm.domain.acts import AlertMove, StatusMove
from ecm.domain.alerts import AlertChange
from ecm.domain.calendar import local_date
from ecm.domain.calls import CorrectionAudit
from ecm.domain.exceptions import VisitException
from ecm.domain.outcome import JudgedBy, PublishedVersion, VisitOutcome, VisitStatus
from ecm.domain.punctuality import Punctuality, lateness_seconds
from ecm.domain.reference import (
    CarerRecord,
    ClientRecord,
    MonitoringPeriod,
    PackageRecord,
    ProviderRecord,
    PublishedCodes,
    RateCard,
    ReferenceData,
    Validity,
)
from ecm.domain.rota import GapStatus, ScheduleEvent, TravelGap
from ecm.domain.rules import RuleChange
from ecm.domain.trust import Deduction, Trust, TrustReason
from ecm.domain.workflow import Code, CodeList

M = TypeVar("M", bound=c.ContractEvent)

ReferenceRecord = (
    ClientRecord | CarerRecord | ProviderRecord | PackageRecord | RateCard | RuleChange
    | PublishedCodes | MonitoringPeriod
)


def _utc(instant: datetime) -> datetime:
    return instant if instant.utcoffset() is None or instant.tzinfo is UTC else \
        instant.astimezone(UTC)


def visit_event(event: c.VisitEvent, reference: ReferenceData | None = None) -> d.VisitEvent:
    """Translate a schedule or call event into the domain's value (instants in UTC).

    A version 1 plan names no planned carers; a version 1 change keeps those planned.

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
            tuple(event.planned_carer_ids) if isinstance(event, c.VisitPlannedV2) else (),
        )
    if isinstance(event, c.VisitChanged):
        carers = event.planned_carer_ids if isinstance(event, c.VisitChangedV2) else None
        return d.VisitChanged(
            event.event_id, _utc(event.occurred_at), event.visit_id, event.provider_id,
            _utc(event.planned_start), _utc(event.planned_end), event.carers_required,
            event.time_critical, None if carers is None else tuple(carers),
        )
    if isinstance(event, c.VisitCancelled):
        return d.VisitCancelled(event.event_id, _utc(event.occurred_at), event.visit_id,
                                event.provider_id, event.cancelled_by.value)
    if isinstance(event, c.CallTimeCorrected):
        return d.CallTimeCorrected(
            event.event_id, _utc(event.occurred_at), event.visit_id, event.provider_id,
            event.carer_id, event.corrects == "check_in", _utc(event.corrected_time),
            event.reason_code, event.corrected_by,
        )
    return workflow_act(event)


def workflow_act(event: c.WorkflowAct) -> d.WorkflowAct:
    """Translate an act of closing the loop into the domain's value (instants in UTC)."""
    who = (event.event_id, _utc(event.occurred_at), event.visit_id, event.provider_id,
           event.by, event.by_role.value)
    if isinstance(event, c.ExceptionExplained):
        return d.ExceptionExplained(*who, event.exception_id, event.reason_code, event.note)
    if isinstance(event, c.ExceptionDecided):
        return d.ExceptionDecided(*who, event.exception_id,
                                  event.decision is c.Decision.ACCEPTED,
                                  event.resolution_code, event.note)
    if isinstance(event, c.CorrectionDecided):
        return d.CorrectionDecided(*who, event.correction_event_id,
                                   event.decision is c.Decision.ACCEPTED, event.note)
    if isinstance(event, c.VisitFrustrated):
        return d.VisitFrustrated(*who, event.client_id, event.carer_id, event.reason_code,
                                 event.note)
    if isinstance(event, c.AlertAcknowledged):
        return d.AlertAcknowledged(*who, event.alert_id, event.action_taken, event.note)
    if isinstance(event, c.AlertEscalated):
        return d.AlertEscalated(*who, event.alert_id, event.to_tier.value, event.note)
    return d.AlertClosed(*who, event.alert_id, event.outcome_code, event.note)


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
    if isinstance(event, c.AlertMonitoringSet):
        return MonitoringPeriod(event.monitoring_id, event.client_id,
                                event.service.value if event.service else None,
                                _utc(event.starts), _utc(event.until), event.set_by,
                                event.reason, _utc(event.occurred_at), event.event_id)
    valid = Validity(event.effective_from, event.effective_to, _utc(event.occurred_at),
                     event.event_id)
    if isinstance(event, c.ReasonCodesPublished):
        codes = tuple(Code(k.code, k.purpose.value, k.label, k.category.value, k.note_required,
                           frozenset(kind.value for kind in k.settles)) for k in event.codes)
        return PublishedCodes(valid, CodeList(event.code_list_id, event.effective_from,
                                              event.effective_to, codes))
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
    fields: tuple[object, ...] = (
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
    trust = _trust(o)
    fields += (o.in_dispute, o.frustrated_reason, o.held_corrections, trust.score,
               tuple((d.reason.value, d.points, d.carer_id, d.ref) for d in trust.deductions),
               tuple(_version_key(v) for v in o.judged_by.rules),
               _version_key(o.judged_by.rate_card))
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
    """Return the wire record of a visit outcome (its id from ``outcome_id``, if not given).

    Always version 3: every outcome states its trust score and which rules and rate card
    judged it, which versions 1 and 2 cannot say (docs/rules.md, "Recalculation"). It
    carries version 2's verification, verified and disputed money too.
    """
    fields = _outcome_fields(o)
    fields["event_id"] = event_id or outcome_id(o)
    judged, trust = o.judged_by, _trust(o)
    return c.VisitOutcomeRecordedV3.model_construct(
        schema_version=3, status=c.VisitStatusV2(o.status.value),
        verification=c.Verification.IN_DISPUTE if o.in_dispute else c.Verification.VERIFIED,
        verified_gbp=o.verified_gbp, disputed_gbp=o.disputed_gbp,
        frustrated_reason=o.frustrated_reason, held_corrections=o.held_corrections,
        trust_score=trust.score,
        trust_deductions=tuple(c.TrustDeduction.model_construct(
            reason=d.reason.value, points=d.points, carer_id=d.carer_id, ref=d.ref)
            for d in trust.deductions),
        rules_applied=tuple(_published(v) for v in judged.rules),
        rate_card=None if judged.rate_card is None else _published(judged.rate_card),
        **fields)


def _version_key(version: PublishedVersion | None) -> tuple[str, int, str] | None:
    """A published version as plain values (cheap to ``repr`` for the digest)."""
    if version is None:
        return None
    return (version.record_id, version.effective_from.toordinal(), version.event_id)


def _trust(o: VisitOutcome) -> Trust:
    if o.trust is None:
        raise ValueError(f"trust: the outcome of visit {o.visit_id} was never assessed")
    return o.trust


def _published(version: PublishedVersion) -> c.PublishedVersion:
    return c.PublishedVersion.model_construct(id=version.record_id,
                                              effective_from=version.effective_from,
                                              event_id=version.event_id)


def _outcome_fields(o: VisitOutcome) -> dict[str, Any]:
    return dict(
        occurred_at=o.updated_at,
        visit_id=o.visit_id, provider_id=o.provider_id, client_id=o.client_id,
        lot_id=o.lot_id, service=c.Service(o.service) if o.service else None,
        tier=c.Tier(o.tier) if o.tier else None, iso_week=o.iso_week, local_date=o.local_date,
        scheduled=o.scheduled,
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
    """Return the wire record of an alert raised or resolved, stamped at its event time.

    Version 1 for every kind version 1 knows; version 2 only for ``at_risk``.
    """
    version, kind = _alert_version(change.kind.value)
    fields: dict[str, Any] = {
        "event_id": alert_record_id(change), "schema_version": version,
        "occurred_at": change.at, "alert_id": change.alert_id, "kind": kind,
        "visit_id": change.visit_id, "provider_id": change.provider_id,
    }
    if change.raised:
        raised = c.AlertRaisedV2 if version == 2 else c.AlertRaised
        return raised.model_construct(**fields, client_id=change.client_id,
                                      lot_id=change.lot_id, due_at=change.due_at)
    resolved = c.AlertResolvedV2 if version == 2 else c.AlertResolved
    return resolved.model_construct(**fields, resolution=change.resolution or "resolved")


def _alert_version(kind: str) -> tuple[int, StrEnum]:
    """The lowest alert schema version that knows ``kind``, and the kind in it."""
    if kind in c.AlertKind.__members__.values():
        return 1, c.AlertKind(kind)
    return 2, c.AlertKindV2(kind)


def exception_record(e: VisitException) -> c.VisitExceptionRaised:
    """Return the wire record of an exception (its id doubles as the event id).

    Version 1 for every kind version 1 knows; a later version only for the kinds it added.
    """
    model, version, kind = _exception_version(
        e.kind.value, (c.VisitExceptionRaised, c.VisitExceptionRaisedV2,
                       c.VisitExceptionRaisedV3))
    fields: dict[str, Any] = {
        "event_id": record_id(e.exception_id), "schema_version": version, "occurred_at": e.at,
        "exception_id": e.exception_id, "kind": kind, "visit_id": e.visit_id,
        "provider_id": e.provider_id, "client_id": e.client_id, "carer_id": e.carer_id,
        "detail": e.detail,
    }
    return model.model_construct(**fields)


_EXCEPTION_KINDS: tuple[type[StrEnum], ...] = (c.ExceptionKind, c.ExceptionKindV2,
                                               c.ExceptionKindV3)
"""Exception kinds by schema version (1, 2, 3): each version's record is sent only for
the kinds no earlier version knows."""


def _exception_version(
    kind: str, models: tuple[type[M], type[M], type[M]]
) -> tuple[type[M], int, StrEnum]:
    for version, (kinds, model) in enumerate(zip(_EXCEPTION_KINDS, models, strict=True), 1):
        if kind in kinds.__members__.values():
            return model, version, kinds(kind)
    raise ValueError(f"kind: {kind!r} is not an exception kind of any schema version")


def exception_resolved_record(
    exception_id: str, kind: str, visit_id: str, provider_id: str, at: datetime
) -> c.VisitExceptionResolved:
    """Return the wire record of an exception that no longer holds (stable id)."""
    model, version, wire_kind = _exception_version(
        kind, (c.VisitExceptionResolved, c.VisitExceptionResolvedV2,
               c.VisitExceptionResolvedV3))
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
        **_version_2_fields(o),
    )


def _version_2_fields(o: c.VisitOutcomeRecorded) -> dict[str, Any]:
    if not isinstance(o, c.VisitOutcomeRecordedV2):
        return {}
    held = tuple(o.held_corrections)
    fields = {"in_dispute": o.verification is c.Verification.IN_DISPUTE,
              "needs_decision": o.verification is c.Verification.IN_DISPUTE or bool(held)
              or o.status.value != VisitStatus.FRUSTRATED.value,
              "frustrated_reason": o.frustrated_reason, "held_corrections": held}
    if isinstance(o, c.VisitOutcomeRecordedV3):
        fields |= _version_3_fields(o)
    return fields


def _version_3_fields(o: c.VisitOutcomeRecordedV3) -> dict[str, Any]:
    """The trust score and provenance a version 3 record states (versions 1, 2: unknown)."""
    deductions = tuple(Deduction(TrustReason(d.reason), d.points, d.carer_id, d.ref)
                       for d in o.trust_deductions)
    card = o.rate_card
    return {"trust": Trust(o.trust_score, deductions),
            "judged_by": JudgedBy(
                tuple(PublishedVersion(v.id, v.effective_from, v.event_id)
                      for v in o.rules_applied),
                None if card is None else PublishedVersion(card.id, card.effective_from,
                                                           card.event_id))}


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




def exception_status_record(
    move: StatusMove, learned_at: datetime
) -> c.ExceptionStatusChanged:
    """Return the record of an exception moved by an act (id ``{act}:status``)."""
    act, e = move.act, move.exception
    code = act.reason_code if isinstance(act, d.ExceptionExplained) else act.resolution_code
    return c.ExceptionStatusChanged.model_construct(
        event_id=record_id(f"{act.event_id}:status"), schema_version=1,
        occurred_at=act.occurred_at, exception_id=e.exception_id,
        kind=c.ExceptionKindV2(e.kind.value), visit_id=e.visit_id, provider_id=e.provider_id,
        status=c.ExceptionStatus(move.status.value), code=code, note=act.note, by=act.by,
        by_role=c.ActorRole(act.by_role), caused_by=act.event_id, learned_at=learned_at,
    )


def exception_settled_record(
    exception_id: str, kind: str, visit_id: str, provider_id: str, at: datetime,
    learned_at: datetime,
) -> c.ExceptionStatusChanged:
    """Return the record of an exception settled by later facts (id ``exception:{id}:settled``)."""
    return c.ExceptionStatusChanged.model_construct(
        event_id=settled_record_id(exception_id), schema_version=1, occurred_at=at,
        exception_id=exception_id, kind=c.ExceptionKindV2(kind), visit_id=visit_id,
        provider_id=provider_id, status=c.ExceptionStatus.SETTLED, code=None, note=None,
        by=None, by_role=None, caused_by=None, learned_at=learned_at,
    )


def settled_record_id(exception_id: str) -> str:
    """Return the event id of ``exception_settled_record``."""
    return record_id(f"exception:{exception_id}:settled")


def alert_handled_record(move: AlertMove, learned_at: datetime) -> c.AlertHandled:
    """Return the record of something that happened to an alert (id ``move.record_id``)."""
    version, kind = _alert_version(move.kind)
    handled = c.AlertHandledV2 if version == 2 else c.AlertHandled
    fields: dict[str, Any] = {"schema_version": version, "kind": kind}
    return handled.model_construct(
        **fields, event_id=record_id(move.record_id), occurred_at=move.at,
        alert_id=move.alert_id, visit_id=move.visit_id,
        provider_id=move.provider_id, client_id=move.client_id,
        action=c.AlertAction(move.action), tier=c.AlertTier(move.tier.value), by=move.by,
        by_role=c.ActorRole(move.by_role), code=move.code, note=move.note,
        caused_by=move.caused_by, learned_at=learned_at,
    )


def travel_gap_record(gap: TravelGap) -> c.TravelGapJudged:
    """Return the wire record of a carer's gap before one visit (rota realism).

    Its id is the gap and a digest of what it says, so the same judgement always has the
    same id and a changed one a new id (as ``outcome_id``).
    """
    gap_id = f"{gap.visit_id}:{gap.carer_id}"
    said = (gap.status.value, gap.provider_id, gap.client_id, gap.lot_id, gap.service,
            gap.week, gap.day.toordinal(), _micros(gap.at), gap.previous_visit_id,
            gap.previous_client_id, gap.gap_seconds, gap.travel_seconds, gap.straight_m)
    digest = hashlib.blake2b(repr(said).encode(), digest_size=6).hexdigest()
    return c.TravelGapJudged.model_construct(
        event_id=record_id(f"gap:{gap_id}:{digest}"), schema_version=1, occurred_at=gap.at,
        gap_id=gap_id, carer_id=gap.carer_id, visit_id=gap.visit_id,
        provider_id=gap.provider_id, client_id=gap.client_id, lot_id=gap.lot_id,
        service=c.Service(gap.service) if gap.service else None, iso_week=gap.week,
        local_date=gap.day, status=c.GapStatus(gap.status.value),
        previous_visit_id=gap.previous_visit_id, previous_client_id=gap.previous_client_id,
        gap_seconds=gap.gap_seconds, travel_seconds=gap.travel_seconds,
        straight_m=gap.straight_m, short=gap.short, shortfall_seconds=gap.shortfall_seconds,
    )


def schedule_record(event: ScheduleEvent) -> c.ScheduleEvent:
    """Return a domain schedule event as a wire event ``visit_event`` reads back equal.

    What the visit agent re-keys by carer for rota realism: version 2 when the event
    says something of planned carers, version 1 otherwise (what the domain keeps of it;
    a change's or cancellation's free-text reason is not kept, and not needed there).
    """
    if isinstance(event, d.VisitPlanned):
        fields: dict[str, Any] = dict(
            event_id=event.event_id, occurred_at=event.occurred_at, provider_id=event.provider_id,
            visit_id=event.visit_id, client_id=event.client_id, service=c.Service(event.service),
            tier=c.Tier(event.tier), package_id=event.package_id,
            planned_start=event.planned_start, planned_end=event.planned_end,
            carers_required=event.carers_required, time_critical=event.time_critical)
        if event.planned_carer_ids:
            return c.VisitPlannedV2(**fields, planned_carer_ids=event.planned_carer_ids)
        return c.VisitPlanned(**fields)
    if isinstance(event, d.VisitChanged):
        fields = dict(
            event_id=event.event_id, occurred_at=event.occurred_at, provider_id=event.provider_id,
            visit_id=event.visit_id, planned_start=event.planned_start,
            planned_end=event.planned_end, carers_required=event.carers_required,
            time_critical=event.time_critical)
        if event.planned_carer_ids is not None:
            return c.VisitChangedV2(**fields, planned_carer_ids=event.planned_carer_ids)
        return c.VisitChanged(**fields)
    return c.VisitCancelled(event_id=event.event_id, occurred_at=event.occurred_at,
                            provider_id=event.provider_id, visit_id=event.visit_id,
                            cancelled_by=c.CancelledBy(event.cancelled_by))


def gap_from_record(g: c.TravelGapJudged) -> TravelGap:
    """Return the domain gap a wire record states (the inverse of ``travel_gap_record``)."""
    return TravelGap(
        g.carer_id, g.visit_id, g.provider_id, g.client_id, g.lot_id, _value(g.service),
        g.local_date, g.iso_week, GapStatus(g.status.value), g.occurred_at,
        previous_visit_id=g.previous_visit_id, previous_client_id=g.previous_client_id,
        gap_seconds=g.gap_seconds, travel_seconds=g.travel_seconds, straight_m=g.straight_m,
    )
