"""Firing and resolving one visit's alerts as the watermark advances.

These are the calls a stream processor makes: ``pending_deadlines`` after applying an
event (to index the visit's deadlines), ``fire_due`` when the watermark passes one (and
after an event reaches a visit with an open alert). Replay uses the same two calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ecm.domain.context import visit_context
from ecm.domain.deadlines import AlertKind, Deadline, alert_timelines, passed
from ecm.domain.reference import ReferenceData
from ecm.domain.visit import VisitState


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert raised (``raised`` True) or resolved, at event time ``at``."""

    alert_id: str
    kind: AlertKind
    visit_id: str
    provider_id: str
    client_id: str
    lot_id: str | None
    due_at: datetime
    at: datetime
    raised: bool
    resolution: str | None = None


def alert_id(visit_id: str, kind: str) -> str:
    """Return the stable id of a visit's alert of one kind."""
    return f"{visit_id}:{kind}"


def pending_deadlines(state: VisitState, reference: ReferenceData) -> list[Deadline]:
    """Return the deadlines at which this visit could still raise an alert.

    Deadlines of alerts already raised, or whose condition no longer holds, are left out.
    The list may change after each applied event; re-index it then.
    """
    facts = state.facts()
    context = visit_context(facts, reference)
    if context is None:
        return []
    return [
        Deadline(state.visit_id, line.kind, line.due_at)
        for line in alert_timelines(facts, context.policy)
        if line.fires and line.kind not in state.raised
    ]


def fire_due(
    state: VisitState, reference: ReferenceData, watermark: datetime, inclusive: bool = False
) -> list[AlertChange]:
    """Raise the alerts whose deadline the watermark passed, and resolve those now settled.

    Each alert is raised at most once and resolved at most once (the state remembers),
    so calling this again with the same or an older watermark returns nothing new.

    Args:
        state: the visit; its ``raised``/``resolved`` records are updated.
        reference: the reference data the visit's rules are resolved from.
        watermark: event time known to have been reached.
        inclusive: also fire deadlines exactly at the watermark (for a final flush).

    """
    facts = state.facts()
    context = visit_context(facts, reference)
    if context is None:
        return []
    changes: list[AlertChange] = []
    for line in alert_timelines(facts, context.policy):
        kind = line.kind
        base = (alert_id(state.visit_id, kind), kind, state.visit_id, context.provider_id,
                context.client_id, context.lot_id, line.due_at)
        if kind not in state.raised:
            if not (line.fires and passed(line.due_at, watermark, inclusive)):
                continue
            state.raised[kind] = line.due_at
            changes.append(AlertChange(*base, at=line.due_at, raised=True))
        if kind not in state.resolved and line.resolved_at is not None:
            state.resolved[kind] = line.resolved_at
            changes.append(AlertChange(*base, at=line.resolved_at, raised=False,
                                       resolution=line.resolution))
    return changes


def alert_history(state: VisitState, reference: ReferenceData) -> list[AlertChange]:
    """Return the visit's alerts as they stand: each raised alert and, if settled, its end.

    Resolution times are recomputed from all facts now known, so the history does not
    depend on the order in which facts that settle an alert arrived (what ``fire_due``
    emitted at the time is the live notification; this is the record of it).
    """
    facts = state.facts()
    context = visit_context(facts, reference)
    if context is None:
        return []
    history: list[AlertChange] = []
    for line in alert_timelines(facts, context.policy):
        kind = line.kind
        raised_at = state.raised.get(kind)
        if raised_at is None:
            continue
        base = (alert_id(state.visit_id, kind), kind, state.visit_id, context.provider_id,
                context.client_id, context.lot_id, raised_at)
        history.append(AlertChange(*base, at=raised_at, raised=True))
        if line.resolved_at is not None:
            history.append(AlertChange(*base, at=max(line.resolved_at, raised_at),
                                       raised=False, resolution=line.resolution))
    return history
