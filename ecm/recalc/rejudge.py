"""Judge a period's visits again with the one visit engine, under today's reference data.

The engine is ``ecm replay``'s (``ecm.replay.Replayer``: the worker's handlers over
in-memory stores), so a visit judged again is judged exactly as the worker would judge it
now with the same events. Deadlines fire up to ``now``, the instant of the recalculation,
so a visit still in progress stays in progress; then every visit is judged again under
the reference data as it stands (``rejudge_all``), which the worker and ``ecm replay``
never do to a settled visit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from ecm import contracts as c
from ecm.domain.events import VisitEvent
from ecm.replay import Replayer, run
from ecm.visits.translate import ReferenceRecord


@dataclass(frozen=True, slots=True)
class Period:
    """The local days whose visits are judged again: ``first`` to ``last`` (inclusive)."""

    first: date
    last: date | None = None

    def __post_init__(self) -> None:
        if self.last is not None and self.last < self.first:
            raise ValueError(f"to: {self.last} is before from: {self.first}")

    def covers(self, day: date) -> bool:
        """Whether a visit of local ``day`` is in the period."""
        return self.first <= day and (self.last is None or day <= self.last)


def rejudge_extract(lines: Iterable[bytes], period: Period, now: datetime
                    ) -> list[c.VisitOutcomeRecorded]:
    """Judge an extract of input events (reference data included) and keep the period's.

    Args:
        lines: JSON Lines of contract events, as ``ecm replay`` reads them.
        period: the visits (by local day) whose outcomes are returned.
        now: the instant of the recalculation; later events are ignored.

    """
    if now.tzinfo is None:
        raise ValueError("now: needs a time zone")
    result = run(lines, until=now, rejudge_all=True)
    return [o for o in result.outcomes if period.covers(o.local_date)]


def rejudge(
    reference: Iterable[ReferenceRecord], events: Iterable[VisitEvent], period: Period,
    now: datetime,
) -> list[c.VisitOutcomeRecorded]:
    """Judge visits from their events (domain values) under the given reference data.

    Events are applied in event-time order (then by id) after every reference record;
    outcomes are those of visits of ``period``, judged with deadlines up to ``now``.
    """
    if now.tzinfo is None:
        raise ValueError("now: needs a time zone")
    replayer = Replayer()
    for record in reference:
        replayer.reference.add(record)
    offset = 0
    for offset, event in enumerate(sorted(events, key=lambda e: (e.occurred_at, e.event_id)),
                                   start=1):
        if event.occurred_at <= now:
            replayer.visit(offset, event)
    result = replayer.finish(offset + 1, now, rejudge_all=True)
    return [o for o in result.outcomes if period.covers(o.local_date)]
