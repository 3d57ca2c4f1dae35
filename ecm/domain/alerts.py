"""Raising and settling one visit's alerts as event time advances (docs/rules.md, "Alerts").

Pure functions of a visit's alert timelines and what it already raised: nothing here
mutates the visit. ``ecm.domain.judgement.judge`` calls them once per change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ecm.domain.context import VisitContext
from ecm.domain.deadlines import AlertKind, AlertTimeline, passed
from ecm.domain.visit import AlertMemory


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


def fire(
    visit_id: str,
    context: VisitContext,
    lines: tuple[AlertTimeline, ...],
    memory: AlertMemory,
    watermark: datetime,
    inclusive: bool,
) -> tuple[list[AlertChange], AlertMemory]:
    """Raise the alerts whose deadline the watermark passed, and resolve those now settled.

    Each alert is raised at most once and resolved at most once (``memory`` says what
    was), so firing again at the same or an older watermark returns nothing new.

    Returns:
        The changes, and the memory after them (``memory`` itself when nothing changed).
    """
    changes: list[AlertChange] = []
    raised, resolved = memory.raised, memory.resolved
    for line in lines:
        kind = line.kind
        if kind not in raised:
            if not (line.fires and passed(line.due_at, watermark, inclusive)):
                continue
            raised = {**raised, kind: line.due_at}
            changes.append(_change(visit_id, context, line, line.due_at, True))
        if kind not in resolved and line.resolved_at is not None:
            resolved = {**resolved, kind: line.resolved_at}
            changes.append(_change(visit_id, context, line, line.resolved_at, False))
    if not changes:
        return changes, memory
    return changes, AlertMemory(raised, resolved)


def history(
    visit_id: str, context: VisitContext, lines: tuple[AlertTimeline, ...], memory: AlertMemory
) -> list[AlertChange]:
    """Return the visit's alerts as they stand: each raised alert and, if settled, its end.

    Resolution times are recomputed from all facts now known, so the record does not
    depend on the order in which the facts that settle an alert arrived (what ``fire``
    returned at the time is the live notification; this is the record of it).
    """
    record: list[AlertChange] = []
    for line in lines:
        raised_at = memory.raised.get(line.kind)
        if raised_at is None:
            continue
        record.append(_change(visit_id, context, line, raised_at, True, raised_at))
        if line.resolved_at is not None:
            at = max(line.resolved_at, raised_at)
            record.append(_change(visit_id, context, line, at, False, raised_at))
    return record


def _change(
    visit_id: str, context: VisitContext, line: AlertTimeline, at: datetime, raised: bool,
    due_at: datetime | None = None,
) -> AlertChange:
    return AlertChange(
        alert_id(visit_id, line.kind), line.kind, visit_id, context.provider_id,
        context.client_id, context.lot_id, due_at or line.due_at, at, raised,
        None if raised else line.resolution,
    )
