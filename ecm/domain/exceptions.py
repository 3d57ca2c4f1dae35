"""Exceptions kept for reconciliation: none is dropped, each has a stable id.

An exception id is ``visit_id:kind`` (``:carer_id`` for a carer's exception, ``:event_id``
for a duplicate event), so re-deriving a visit gives the same records and keyed writes
stay idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ecm.domain.calls import CarerCalls
from ecm.domain.context import VisitContext
from ecm.domain.outcome import (
    VisitOutcome,
    VisitStatus,
    gps_distances,
    implausible_after,
    rate_card_for,
)
from ecm.domain.reference import ReferenceData
from ecm.domain.visit import VisitFacts


class ExceptionKind(StrEnum):
    """Exceptions kept for reconciliation: docs/rules.md, "Exceptions"."""

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
    LOCATION_UNVERIFIABLE = "location_unverifiable"
    INSUFFICIENT_TRAVEL_TIME = "insufficient_travel_time"


@dataclass(frozen=True, slots=True)
class VisitException:
    """One exception to reconcile, at the event time it arose."""

    exception_id: str
    kind: ExceptionKind
    visit_id: str
    provider_id: str
    client_id: str | None
    carer_id: str | None
    at: datetime
    detail: str = ""


def exception_id(visit_id: str, kind: str, suffix: str | None = None) -> str:
    """Return the stable id of an exception."""
    return f"{visit_id}:{kind}:{suffix}" if suffix else f"{visit_id}:{kind}"


def kind_named(exception_id_: str, visit_id: str) -> str | None:
    """The kind an exception id of ``visit_id`` names (``exception_id`` read back), if any."""
    if not exception_id_.startswith(f"{visit_id}:"):
        return None
    return exception_id_[len(visit_id) + 1:].split(":", 1)[0] or None


def orphan_exceptions(facts: VisitFacts) -> list[VisitException]:
    """Return the exception for changes or cancellations of a visit nobody planned."""
    events = sorted(facts.orphans, key=lambda e: (e.occurred_at, e.event_id))
    if not events:
        return []
    first = events[0]
    return [VisitException(exception_id(facts.visit_id, ExceptionKind.UNKNOWN_VISIT),
                           ExceptionKind.UNKNOWN_VISIT, facts.visit_id, first.provider_id,
                           None, None, first.occurred_at,
                           f"{len(events)} event(s) for a visit not on the rota")]


def visit_exceptions(
    facts: VisitFacts, context: VisitContext, outcome: VisitOutcome, reference: ReferenceData
) -> list[VisitException]:
    """Return every exception of one visit, sorted by id."""
    found = list(_all(facts, context, outcome, reference))
    return sorted(found, key=lambda e: e.exception_id)


def _all(
    facts: VisitFacts, context: VisitContext, outcome: VisitOutcome, reference: ReferenceData
) -> Iterator[VisitException]:
    yield from _visit_level(facts, context, outcome, reference)
    yield from _carer_level(facts, context, outcome, reference)
    for dup in facts.duplicates:
        yield _make(facts, context, ExceptionKind.DUPLICATE_EVENT, dup.event.occurred_at,
                    f"repeats event {dup.original_event_id}", dup.event.carer_id,
                    suffix=dup.event.event_id)


def _make(facts: VisitFacts, context: VisitContext, kind: ExceptionKind, at: datetime,
          detail: str = "", carer_id: str | None = None, suffix: str | None = None
          ) -> VisitException:
    return VisitException(exception_id(facts.visit_id, kind, suffix or carer_id), kind,
                          facts.visit_id, context.provider_id, context.client_id, carer_id,
                          at, detail)


def _visit_level(facts: VisitFacts, context: VisitContext, outcome: VisitOutcome,
                 reference: ReferenceData) -> Iterator[VisitException]:
    plan, anchor = facts.plan, context.anchor
    if plan is None and facts.first_call is not None:
        yield _make(facts, context, ExceptionKind.UNSCHEDULED_VISIT, facts.first_call.occurred_at,
                    "check-in for a visit not on the rota")
    if context.client is None:
        yield _make(facts, context, ExceptionKind.UNKNOWN_CLIENT, anchor,
                    f"client {context.client_id} not registered on {context.day}")
    if plan is not None and outcome.status is VisitStatus.MISSED:
        yield _make(facts, context, ExceptionKind.NO_CHECK_IN,
                    plan.start + timedelta(minutes=context.policy.missed_after_minutes),
                    "missed: no carer checked in")
    if outcome.short:
        yield _make(facts, context, ExceptionKind.SHORT_VISIT, outcome.updated_at,
                    f"delivered {outcome.delivered_seconds}s of {outcome.planned_seconds}s "
                    f"planned x {len(outcome.carer_ids)} carer(s)")
    if outcome.single_handed and plan is not None:
        yield _make(facts, context, ExceptionKind.SINGLE_HANDED, anchor,
                    f"{len(outcome.carer_ids)} of {plan.carers_required} carers checked in")
    if plan is not None and outcome.delivered_seconds and outcome.status is not \
            VisitStatus.CANCELLED:
        if rate_card_for(facts, context, reference) is None:
            yield _make(facts, context, ExceptionKind.NO_RATE_CARD, anchor,
                        f"no rate card for lot {context.lot_id}, service {context.service}, "
                        f"tier {context.tier} on {context.day}")


def _carer_level(facts: VisitFacts, context: VisitContext, outcome: VisitOutcome,
                 reference: ReferenceData) -> Iterator[VisitException]:
    plan, policy = facts.plan, context.policy
    distances = gps_distances(facts, context)
    limit = implausible_after(context)
    for carer_id, calls in sorted(facts.carers.items()):
        registered = reference.carer(carer_id, context.day)
        if registered is None or registered.provider_id != context.provider_id:
            where = "not registered" if registered is None else \
                f"registered with provider {registered.provider_id}"
            yield _make(facts, context, ExceptionKind.UNKNOWN_CARER, context.anchor,
                        f"carer {where} on {context.day}", carer_id)
        if calls.manual:
            yield _make(facts, context, ExceptionKind.MANUAL_ENTRY,
                        calls.audit[-1].corrected_at if calls.audit else context.anchor,
                        _manual_detail(calls), carer_id)
        if calls.check_in is None:
            continue
        yield from _location(facts, context, calls, distances.get(carer_id))
        if calls.check_out is None and outcome.status is VisitStatus.NO_CHECKOUT:
            yield _make(facts, context, ExceptionKind.NO_CHECK_OUT, calls.check_in,
                        "checked in, never checked out", carer_id)
        duration = calls.duration_seconds()
        if duration is not None and (duration < 0 or duration > limit):
            yield _make(facts, context, ExceptionKind.IMPLAUSIBLE_DURATION, calls.check_in,
                        f"check-in to check-out is {duration}s", carer_id)
        elif plan is not None and calls.check_out is not None and calls.check_out < \
                plan.end - timedelta(minutes=policy.punctuality_window_minutes):
            early = int((plan.end - calls.check_out).total_seconds()) // 60
            yield _make(facts, context, ExceptionKind.EARLY_OUT, calls.check_out,
                        f"checked out {early} min before the planned end", carer_id)
    yield from _mismatches(facts, context)


def _location(facts: VisitFacts, context: VisitContext, calls: CarerCalls,
              distance: int | None) -> Iterator[VisitException]:
    """Too far from the client, or a fix too vague to tell (docs/rules.md, "Exceptions")."""
    limit, first = context.policy.gps_distance_limit_m, calls.first_in_call
    accuracy = first.accuracy_m if first is not None else None
    if distance is None or calls.check_in is None:
        return
    if accuracy is not None and accuracy > limit:
        yield _make(facts, context, ExceptionKind.LOCATION_UNVERIFIABLE, calls.check_in,
                    f"the phone's fix was accurate to {accuracy} m, worse than the {limit} m "
                    f"limit ({distance} m from the client's location)", calls.carer_id)
    elif distance > limit:
        yield _make(facts, context, ExceptionKind.GPS_DISTANCE, calls.check_in,
                    f"checked in {distance} m from the client's location", calls.carer_id)


def _mismatches(facts: VisitFacts, context: VisitContext) -> Iterator[VisitException]:
    if facts.plan is None:
        return
    wrong = sorted({(c.carer_id, c.client_id) for c in facts.calls
                    if c.client_id != facts.plan.client_id})
    for carer_id, client_id in wrong:
        yield _make(facts, context, ExceptionKind.CLIENT_MISMATCH, context.anchor,
                    f"call names client {client_id}, the rota says {facts.plan.client_id}",
                    carer_id)


def _manual_detail(calls: CarerCalls) -> str:
    parts = [f"reason {','.join(sorted(set(calls.reason_codes)))}"]
    for a in calls.audit:
        old = a.original.isoformat() if a.original else "none"
        parts.append(f"{a.corrects} {old} -> {a.corrected.isoformat()} by {a.corrected_by} "
                     f"at {a.corrected_at.isoformat()}")
    return "; ".join(parts)[:500]
