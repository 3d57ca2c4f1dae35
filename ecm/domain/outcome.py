"""A visit's outcome: status, punctuality, delivered time and pay, at a watermark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from ecm.domain.calls import CarerCalls, CorrectionAudit
from ecm.domain.context import VisitContext
from ecm.domain.deadlines import arrival_deadline, checkout_deadline, missed_deadline, passed
from ecm.domain.pay import frustrated_pay, visit_pay
from ecm.domain.punctuality import Punctuality, classify, lateness_seconds
from ecm.domain.reference import RateCard, ReferenceData
from ecm.domain.rules import RuleChange
from ecm.domain.trust import Trust, trust_of
from ecm.domain.visit import VisitFacts


class VisitStatus(StrEnum):
    """Where a visit stands at the watermark."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    NO_CHECKOUT = "no_checkout"
    UNVERIFIED = "unverified"
    MISSED = "missed"
    CANCELLED = "cancelled"
    FRUSTRATED = "frustrated"
    """The carer arrived but could not deliver care: neither missed nor completed."""


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    """One published version of a contract rule change or rate card: id, date, event."""

    record_id: str
    effective_from: date
    event_id: str


@dataclass(frozen=True, slots=True)
class JudgedBy:
    """Which contract rules and rate card judged a visit (docs/rules.md, "Recalculation").

    ``rules`` are the rule changes in force for its lot, service and day, broadest scope
    first (none: the defaults); ``rate_card`` the card its pay was (or would be) worked
    out on, if one is in force.
    """

    rules: tuple[PublishedVersion, ...] = ()
    rate_card: PublishedVersion | None = None


def provenance_of(rules: tuple[RuleChange, ...], card: RateCard | None) -> JudgedBy:
    """Return the provenance of a judgement from the rule changes and card it used."""
    return JudgedBy(
        tuple(PublishedVersion(r.rules_id, r.effective_from, r.event_id) for r in rules),
        None if card is None else PublishedVersion(card.rate_card_id, card.valid.effective_from,
                                                     card.valid.event_id))


@dataclass(frozen=True, slots=True)
class VisitOutcome:
    """The outcome of one planned or unscheduled visit at a watermark."""

    visit_id: str
    provider_id: str
    client_id: str
    lot_id: str | None
    service: str | None
    tier: str | None
    iso_week: str
    local_date: date
    scheduled: bool
    status: VisitStatus
    cancelled_by: str | None
    planned_start: datetime | None
    planned_end: datetime | None
    planned_seconds: int
    carers_required: int
    time_critical: bool
    first_check_in: datetime | None
    punctuality: Punctuality | None
    lateness_seconds: int | None
    carer_ids: tuple[str, ...]
    delivered_seconds: int
    payable: Decimal
    short: bool
    single_handed: bool
    manual_entry: bool
    electronic: bool
    max_distance_m: int | None
    corrections: tuple[CorrectionAudit, ...]
    updated_at: datetime
    in_dispute: bool = False
    """Some exception needing a decision is not accepted, or a correction is held."""
    needs_decision: bool = False
    """The visit has an exception needing a decision (whatever its status) or a held
    correction: a contract manager has something to decide about it."""
    frustrated_reason: str | None = None
    held_corrections: tuple[str, ...] = ()
    trust: Trust | None = None
    """How far the evidence of the visit's calls can be taken at its word (``trust_of``);
    ``None`` only for an outcome read from a record of version 1 or 2, which did not say."""
    judged_by: JudgedBy = JudgedBy()

    @property
    def checked_in(self) -> bool:
        """Whether any carer checked in."""
        return self.first_check_in is not None

    @property
    def verified_gbp(self) -> Decimal:
        """What is payable on a verified visit; nothing while it is in dispute."""
        return Decimal("0.00") if self.in_dispute else self.payable

    @property
    def disputed_gbp(self) -> Decimal:
        """What is payable but still in dispute."""
        return self.payable - self.verified_gbp


def implausible_after(context: VisitContext) -> int:
    """Return the longest plausible carer duration in seconds."""
    return context.policy.implausible_duration_minutes * 60


def status_of(
    facts: VisitFacts, context: VisitContext, watermark: datetime, inclusive: bool = False
) -> VisitStatus:
    """Return the visit's status once the watermark has reached ``watermark``."""
    checked_in = facts.checked_in
    if facts.frustration is not None:
        return VisitStatus.FRUSTRATED
    if facts.plan is not None and facts.cancelled:
        return VisitStatus.CANCELLED
    if not checked_in:
        due = missed_deadline(facts, context.policy)
        if due is not None and passed(due, watermark, inclusive):
            return VisitStatus.MISSED
        return VisitStatus.PLANNED
    if all(c.check_out is not None for c in checked_in):
        limit = implausible_after(context)
        if all(c.verified_seconds(limit) is not None for c in checked_in):
            return VisitStatus.COMPLETED
        return VisitStatus.UNVERIFIED
    due = checkout_deadline(facts, context.policy)
    if due is None:  # unscheduled: no planned end, so allow the longest plausible visit
        first = facts.first_check_in
        due = first + timedelta(seconds=implausible_after(context)) if first else None
    if due is not None and passed(due, watermark, inclusive):
        return VisitStatus.NO_CHECKOUT
    return VisitStatus.IN_PROGRESS


def gps_distances(facts: VisitFacts, context: VisitContext) -> dict[str, int]:
    """Return each carer's app check-in distance from the client's registered location."""
    result = {}
    for carer in facts.checked_in:
        call = carer.first_in_call
        if call is not None and call.method == "app_gps" and call.distance_m is not None:
            result[carer.carer_id] = call.distance_m
    return result


def verified_by_carer(facts: VisitFacts, context: VisitContext) -> dict[str, int]:
    """Return each carer's verified seconds (carers without a verified duration left out)."""
    limit = implausible_after(context)
    result = {}
    for carer in facts.checked_in:
        seconds = carer.verified_seconds(limit)
        if seconds is not None:
            result[carer.carer_id] = seconds
    return result


def rate_card_for(facts: VisitFacts, context: VisitContext, reference: ReferenceData
                  ) -> RateCard | None:
    """Return the rate card a planned visit is paid on, if one is in force."""
    if facts.plan is None or context.lot_id is None or context.service is None:
        return None
    return reference.rate_card(context.provider_id, context.lot_id, context.service,
                               context.tier or "standard", context.day)


def is_short(facts: VisitFacts, context: VisitContext, status: VisitStatus, delivered: int) -> bool:
    """Return whether a completed visit's mean verified time per carer is below 80% of plan."""
    if facts.plan is None or status is not VisitStatus.COMPLETED:
        return False
    carers = len(facts.checked_in)
    threshold = context.policy.short_visit_ratio * facts.plan.seconds * carers
    return Decimal(delivered) < threshold


def is_single_handed(
    facts: VisitFacts, context: VisitContext, watermark: datetime, inclusive: bool = False
) -> bool:
    """Return whether some, but not all, of the carers a visit needs checked in.

    Judged once the "not arrived" deadline has passed (the others may still be coming).
    """
    plan = facts.plan
    if plan is None or not 0 < len(facts.checked_in) < plan.carers_required:
        return False
    due = arrival_deadline(facts, context.policy)
    return due is not None and passed(due, watermark, inclusive)


def derive_outcome(
    facts: VisitFacts,
    context: VisitContext,
    reference: ReferenceData,
    watermark: datetime,
    inclusive: bool = False,
) -> VisitOutcome:
    """Return the visit's outcome at ``watermark`` (a pure function of its inputs)."""
    plan, first_in = facts.plan, facts.first_check_in
    status = status_of(facts, context, watermark, inclusive)
    verified = verified_by_carer(facts, context)
    delivered = sum(verified.values())
    card = rate_card_for(facts, context, reference)
    payable = Decimal("0.00")
    rurality = context.client.rurality if context.client else None
    if status is VisitStatus.FRUSTRATED:
        delivered = 0
        if plan is not None and card is not None:
            payable = frustrated_pay(plan.seconds, plan.carers_required, card, rurality,
                                     context.policy.frustrated_pay_share)
    elif plan is not None and card is not None and status is not VisitStatus.CANCELLED:
        payable = visit_pay(plan.seconds, (verified[k] for k in sorted(verified)), card, rurality)
    distances = gps_distances(facts, context)
    checked_in = facts.checked_in
    manual = any(c.manual for c in facts.carers.values())
    return VisitOutcome(
        visit_id=facts.visit_id,
        provider_id=context.provider_id,
        client_id=context.client_id,
        lot_id=context.lot_id,
        service=context.service,
        tier=context.tier,
        iso_week=context.week,
        local_date=context.day,
        scheduled=plan is not None,
        status=status,
        cancelled_by=facts.cancellation.cancelled_by if facts.cancellation else None,
        planned_start=plan.start if plan else None,
        planned_end=plan.end if plan else None,
        planned_seconds=plan.seconds if plan else 0,
        carers_required=plan.carers_required if plan else 1,
        time_critical=plan.time_critical if plan else False,
        first_check_in=first_in,
        punctuality=_punctuality(facts, context),
        lateness_seconds=lateness_seconds(first_in, plan.start) if plan and first_in else None,
        carer_ids=tuple(c.carer_id for c in checked_in),
        delivered_seconds=delivered,
        payable=payable,
        short=is_short(facts, context, status, delivered),
        single_handed=is_single_handed(facts, context, watermark, inclusive),
        manual_entry=manual,
        electronic=bool(checked_in) and not manual,
        max_distance_m=max(distances.values()) if distances else None,
        corrections=tuple(a for _, c in sorted(facts.carers.items()) for a in c.audit),
        updated_at=facts.last_event_at or context.anchor,
        frustrated_reason=facts.frustration.reason_code if facts.frustration else None,
        held_corrections=facts.held,
        trust=trust_of(facts, context),
        judged_by=provenance_of(
            reference.rules.in_force(context.lot_id, context.service, context.day), card),
    )


def _punctuality(facts: VisitFacts, context: VisitContext) -> Punctuality | None:
    first_in, plan = facts.first_check_in, facts.plan
    if plan is None or first_in is None:
        return None
    return classify(first_in, plan.start, context.policy.punctuality_window_minutes)


def carers_without_checkout(facts: VisitFacts) -> list[CarerCalls]:
    """Carers who checked in and have no check-out time."""
    return [c for c in facts.checked_in if c.check_out is None]
