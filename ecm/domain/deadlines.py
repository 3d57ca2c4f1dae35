"""Alert deadlines in event time: at risk, not arrived, missed, no check-out.

An alert fires when the watermark passes its deadline and its condition still holds;
it fires *at the deadline* (event time), so a replay gives the same alerts however the
watermark advanced. A later fact resolves it (a check-in, a cancellation, a check-out).
An "at risk" alert's deadline is the instant the visit before it said its carer could
no longer be on time (``ecm.domain.atrisk``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from ecm.domain.events import CarerRunningLate, VisitChanged, VisitPlanned
from ecm.domain.rules import Policy
from ecm.domain.visit import Plan, VisitFacts, fold_visit, known_at

END_OF_TIME = datetime.max.replace(tzinfo=UTC)
"""A watermark beyond every deadline: flushes everything."""


class AlertKind(StrEnum):
    """Alerts that need a person to act."""

    NOT_ARRIVED = "not_arrived"
    MISSED = "missed"
    NO_CHECKOUT = "no_checkout"
    AT_RISK = "at_risk"


ESCALATING_KINDS = frozenset({AlertKind.NOT_ARRIVED, AlertKind.MISSED, AlertKind.NO_CHECKOUT})
"""Alerts that move up a tier when nobody acknowledges them; "at risk" is a warning to
the provider and never does (docs/rules.md, "Alerts")."""


@dataclass(frozen=True, slots=True)
class AlertTimeline:
    """One alert of one visit: its deadline, whether it fires there, and its resolution."""

    kind: AlertKind
    due_at: datetime
    fires: bool
    resolved_at: datetime | None = None
    resolution: str | None = None


@lru_cache(maxsize=256)
def minutes(count: int) -> timedelta:
    """Return ``timedelta(minutes=count)``, shared (policies hold a handful of values)."""
    return timedelta(minutes=count)


def passed(due_at: datetime, watermark: datetime, inclusive: bool = False) -> bool:
    """Return whether the watermark has passed a deadline (strictly, unless ``inclusive``).

    Strictly, so an event stamped exactly at a deadline still arrives "by" it.
    """
    return due_at <= watermark if inclusive else due_at < watermark


def arrival_deadline(facts: VisitFacts, policy: Policy) -> datetime | None:
    """Return the "not arrived" deadline: planned start + 30 min (+15 if time-critical)."""
    plan = facts.plan
    if plan is None:
        return None
    after = (
        policy.time_critical_not_arrived_after_minutes
        if plan.time_critical
        else policy.not_arrived_after_minutes
    )
    return plan.start + minutes(after)


def missed_deadline(facts: VisitFacts, policy: Policy) -> datetime | None:
    """Return the "missed" deadline: planned start + 120 minutes."""
    plan = facts.plan
    return None if plan is None else plan.start + minutes(policy.missed_after_minutes)


def checkout_deadline(facts: VisitFacts, policy: Policy) -> datetime | None:
    """Return the "no check-out" deadline: planned end + 60 minutes.

    A carer who first checked in after the planned end gets 60 minutes from the check-in.
    ``None`` until someone has checked in.
    """
    plan, first_in = facts.plan, facts.first_check_in
    if plan is None or first_in is None:
        return None
    return max(plan.end, first_in) + minutes(policy.no_checkout_after_end_minutes)


def timelines(facts: VisitFacts, policy: Policy) -> list[AlertTimeline]:
    """Return the alert timelines of a planned visit (none for an unscheduled one)."""
    arrive, miss = arrival_deadline(facts, policy), missed_deadline(facts, policy)
    if arrive is None or miss is None:
        return []
    known = [c.in_known_at for c in facts.carers.values() if c.in_known_at is not None]
    arrived, excused = (min(known) if known else None), facts.excuse_at()
    # A frustrated visit counts as the carer's arrival (docs/rules.md, "Closing the loop").
    frustrated = facts.frustration.occurred_at if facts.frustration is not None else None
    result = [
        _arrival(AlertKind.NOT_ARRIVED, arrive, arrived, excused, frustrated),
        _arrival(AlertKind.MISSED, miss, arrived, excused, frustrated),
    ]
    checkout = checkout_deadline(facts, policy)
    if checkout is not None:
        result.append(_checkout(facts, checkout))
    if facts.running_late:
        at_risk = _at_risk(facts, arrive, arrived, excused, frustrated)
        if at_risk is not None:
            result.insert(0, at_risk)
    return result


def _at_risk(
    facts: VisitFacts, arrive: datetime, arrived: datetime | None, excused: datetime | None,
    frustrated: datetime | None,
) -> AlertTimeline | None:
    """The "at risk" alert: due when the first report that applied to the plan came.

    A report applies when, at its instant, the visit was planned to start when the report
    says and still named its carer; one at or after the "not arrived" deadline leaves no
    warning to give. Besides what settles "not arrived", a rota change after the warning
    (new times or carers) settles it: the warning was about the plan that was changed.
    """
    due = next((r.occurred_at for r in sorted(facts.running_late, key=_report_order)
                if r.occurred_at < arrive and _applies(known_at(facts, r.occurred_at),
                                                       r.occurred_at, r.planned_start,
                                                       r.carer_id)), None)
    if due is None:
        return None
    line = _arrival(AlertKind.AT_RISK, due, arrived, excused, frustrated)
    fires = _fires_as_known(known_at(facts, due), due)
    changed = _rota_changed_after(facts, due)
    if changed is not None and (line.resolved_at is None or changed < line.resolved_at):
        return AlertTimeline(AlertKind.AT_RISK, due, fires, changed, "rota_changed")
    return replace(line, fires=fires)


def _fires_as_known(view: VisitFacts, due: datetime) -> bool:
    """Whether, as ecm knew it at ``due``, nobody had checked in and it was not excused.

    Nor frustrated. A report may reach the visit later than its instant: what arrived
    in between does not count.
    """
    known = [c.in_known_at for c in view.carers.values() if c.in_known_at is not None]
    ends = (min(known) if known else None, view.excuse_at(),
            view.frustration.occurred_at if view.frustration is not None else None)
    return not any(t is not None and t <= due for t in ends)


def _report_order(report: CarerRunningLate) -> tuple[datetime, str]:
    return (report.occurred_at, report.event_id)


def _applies(facts: VisitFacts, at: datetime, start: datetime, carer_id: str) -> bool:
    plan = plan_at(facts, at)
    return plan is not None and plan.start == start and carer_id in plan.planned_carer_ids


def plan_at(facts: VisitFacts, at: datetime) -> Plan | None:
    """The visit's plan as it stood at event time ``at`` (its rota events up to then)."""
    schedule = [e for e in facts.events if isinstance(e, VisitPlanned | VisitChanged)
                and e.occurred_at <= at]
    if len(schedule) == len([e for e in facts.events
                             if isinstance(e, VisitPlanned | VisitChanged)]):
        return facts.plan
    return fold_visit(facts.visit_id, schedule).plan


def _rota_changed_after(facts: VisitFacts, at: datetime) -> datetime | None:
    """When the visit's plan was first replanned or changed after ``at``, if it was."""
    return next((e.occurred_at for e in facts.events
                 if isinstance(e, VisitPlanned | VisitChanged) and e.occurred_at > at), None)


def _arrival(
    kind: AlertKind, due: datetime, arrived: datetime | None, excused: datetime | None,
    frustrated: datetime | None = None,
) -> AlertTimeline:
    fires = not any(t is not None and t <= due for t in (arrived, excused, frustrated))
    ends = [(t, why) for t, why in ((arrived, "checked_in"), (excused, "cancelled"),
                                    (frustrated, "frustrated")) if t]
    if not ends:
        return AlertTimeline(kind, due, fires)
    at, why = min(ends)
    return AlertTimeline(kind, due, fires, max(at, due), why)


def _checkout(facts: VisitFacts, due: datetime) -> AlertTimeline:
    present = [
        c for c in facts.carers.values() if c.in_known_at is not None and c.in_known_at <= due
    ]
    outs = [c.out_known_at for c in present]
    fires = any(t is None or t > due for t in outs)
    if not present or any(t is None for t in outs):
        return AlertTimeline(AlertKind.NO_CHECKOUT, due, fires)
    last_out = max(t for t in outs if t is not None)
    return AlertTimeline(AlertKind.NO_CHECKOUT, due, fires, max(last_out, due), "checked_out")
