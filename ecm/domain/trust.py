"""A visit's trust score: how far its evidence of care can be taken at its word.

Every visit starts at 100. Each weakness in the evidence of its calls deducts the points
of its reason (``DEDUCTIONS``), once per call, correction or duplicate it concerns, and
once per other visit a carer's stay conflicts with (``VisitFacts.questioned``: what the
carer ledger found across the carer's visits); the score never goes below 0. The
reasons are kept with their points, so a contract manager sees why a visit scored what
it did, and the visits most worth auditing are those with the lowest scores. Rules and
the table of points: docs/rules.md, "Trust score".

Pure and deterministic: a function of the visit's facts and context only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from ecm.domain.calendar import local_date
from ecm.domain.calls import CarerCalls
from ecm.domain.context import VisitContext
from ecm.domain.events import APP_GPS, CarerCall
from ecm.domain.visit import VisitFacts

FULL_TRUST = 100


class TrustReason(StrEnum):
    """Why a visit's evidence is weaker than a located app call at the client's home."""

    MANUAL_CHECK_IN = "manual_check_in"
    MANUAL_CHECK_OUT = "manual_check_out"
    UNLOCATED_METHOD = "unlocated_method"
    NO_LOCATION = "no_location"
    GPS_FAR = "gps_far"
    GPS_INACCURATE = "gps_inaccurate"
    CORRECTED_TIME = "corrected_time"
    LATE_CORRECTION = "late_correction"
    DUPLICATE_CALL = "duplicate_call"
    OVERLAP = "overlap"
    FASTER_THAN_TRAVEL = "faster_than_travel"


DEDUCTIONS: dict[TrustReason, int] = {
    TrustReason.MANUAL_CHECK_IN: 25,
    TrustReason.MANUAL_CHECK_OUT: 10,
    TrustReason.UNLOCATED_METHOD: 5,
    TrustReason.NO_LOCATION: 10,
    TrustReason.GPS_FAR: 30,
    TrustReason.GPS_INACCURATE: 15,
    TrustReason.CORRECTED_TIME: 10,
    TrustReason.LATE_CORRECTION: 25,
    TrustReason.DUPLICATE_CALL: 5,
    TrustReason.OVERLAP: 30,
    TrustReason.FASTER_THAN_TRAVEL: 25,
}
"""The points each reason deducts (docs/rules.md, "Trust score")."""

UNLOCATED_METHODS = frozenset({"telephony", "qr"})
"""Electronic methods that prove a call but not that the carer was at the client's home.

NFC is not among them: its tag is fixed in the client's home."""


@dataclass(frozen=True, slots=True)
class Deduction:
    """One reason that lowered a visit's score, its points and whom it concerns."""

    reason: TrustReason
    points: int
    carer_id: str | None = None
    ref: str = ""
    """The event the reason concerns (a call, correction or duplicate), or the other
    visit a carer's stay conflicts with (an overlap, a move faster than travel)."""


@dataclass(frozen=True, slots=True)
class Trust:
    """A visit's trust score (an integer from 0 to 100) and the deductions behind it."""

    score: int
    deductions: tuple[Deduction, ...] = ()


def trust_of(facts: VisitFacts, context: VisitContext) -> Trust:
    """Return the visit's trust score and its deductions, in a stable order.

    Guarantees: an integer from 0 to 100; 100 with no deductions for a visit nobody
    called at (planned, missed, cancelled); each deduction is ``DEDUCTIONS[reason]``
    points; the same facts and context always give an equal result.
    """
    found = sorted(_deductions(facts, context),
                   key=lambda d: (d.carer_id or "", d.reason.value, d.ref))
    return Trust(max(0, FULL_TRUST - sum(d.points for d in found)), tuple(found))


def _deductions(facts: VisitFacts, context: VisitContext) -> Iterator[Deduction]:
    for carer_id, calls in sorted(facts.carers.items()):
        yield from _calls(carer_id, calls, context)
    yield from _corrections(facts, context)
    for duplicate in facts.duplicates:
        yield _deduct(TrustReason.DUPLICATE_CALL, duplicate.event.carer_id,
                      duplicate.event.event_id)
    for carer_id, questioned in sorted(facts.questioned.items()):
        for reason, other_visit_id in questioned.doubts:
            yield _deduct(TrustReason(reason), carer_id, other_visit_id)


def _calls(carer_id: str, calls: CarerCalls, context: VisitContext) -> Iterator[Deduction]:
    check_in, check_out = calls.first_in_call, calls.last_out_call
    if check_in is not None:
        yield from _method(carer_id, check_in, TrustReason.MANUAL_CHECK_IN)
        yield from _location(carer_id, check_in, context)
    if check_out is not None:
        yield from _method(carer_id, check_out, TrustReason.MANUAL_CHECK_OUT)


def _method(carer_id: str, call: CarerCall, manual: TrustReason) -> Iterator[Deduction]:
    if call.manual:
        yield _deduct(manual, carer_id, call.event_id)
    elif call.method in UNLOCATED_METHODS:
        yield _deduct(TrustReason.UNLOCATED_METHOD, carer_id, call.event_id)


def _location(carer_id: str, call: CarerCall, context: VisitContext) -> Iterator[Deduction]:
    """An app check-in: located near the client, far, vaguely, or not at all."""
    if call.method != APP_GPS:
        return
    limit = context.policy.gps_distance_limit_m
    if call.distance_m is None:
        yield _deduct(TrustReason.NO_LOCATION, carer_id, call.event_id)
    elif call.accuracy_m is not None and call.accuracy_m > limit:
        yield _deduct(TrustReason.GPS_INACCURATE, carer_id, call.event_id)
    elif call.distance_m > limit:
        yield _deduct(TrustReason.GPS_FAR, carer_id, call.event_id)


def _corrections(facts: VisitFacts, context: VisitContext) -> Iterator[Deduction]:
    """Every correction that counts or is held: late ones (as the workflow holds them) more.

    A correction the council refused changes nothing and deducts nothing.
    """
    counted = {a.event_id for c in facts.carers.values() for a in c.audit}
    limit = context.policy.late_correction_days
    for fix in facts.corrections:
        if fix.event_id not in counted and fix.event_id not in facts.held:
            continue
        late = (local_date(fix.occurred_at) - context.day).days > limit
        reason = TrustReason.LATE_CORRECTION if late else TrustReason.CORRECTED_TIME
        yield _deduct(reason, fix.carer_id, fix.event_id)


def _deduct(reason: TrustReason, carer_id: str | None, ref: str) -> Deduction:
    return Deduction(reason, DEDUCTIONS[reason], carer_id, ref)
