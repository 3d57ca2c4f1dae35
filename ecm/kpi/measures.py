"""What one visit outcome adds to each KPI (DOMAIN.md, "Key performance indicators").

These are the per-visit halves of the KPI definitions; the sums, ratios and means are
in ``ecm/kpi/sql/kpi.sql``. The sink stores them as ``kpi_*`` columns of
``visit_outcomes`` so both storage modes roll them up with plain sums. Outcome fields
used as they are (``scheduled``, ``punctuality``, ``short``, ``single_handed``,
``manual_entry``, ``electronic``, ``delivered_seconds``, ``payable_gbp``) need no measure.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecm.contracts import CancelledBy, VisitOutcomeRecorded, VisitStatus

EXCUSED_CANCELLATIONS = frozenset(
    {CancelledBy.CLIENT, CancelledBy.COUNCIL, CancelledBy.HOSPITAL_ADMISSION}
)
"""Cancellations that are neither missed nor delivered; a provider's counts as missed."""


@dataclass(frozen=True)
class VisitMeasures:
    """One visit's contribution to the counts and sums the KPIs are built from."""

    cancelled: bool
    missed: bool
    completed: bool
    checked_in: bool
    no_checkout: bool
    planned_seconds: int
    lateness_seconds: int | None


def is_excused_cancellation(outcome: VisitOutcomeRecorded) -> bool:
    """Tell whether the visit was cancelled by anyone but the provider (not missed)."""
    cancelled = outcome.status is VisitStatus.CANCELLED
    return cancelled and outcome.cancelled_by is not CancelledBy.PROVIDER


def visit_measures(outcome: VisitOutcomeRecorded) -> VisitMeasures:
    """Return what ``outcome`` adds to each KPI of its provider × lot × service × week.

    Guarantees: a provider's cancellation is missed, never cancelled; planned seconds
    count ``carers_required`` carers and exclude excused cancellations and unscheduled
    visits; lateness is only defined for a visit with a planned start and a check-in.
    """
    excused = is_excused_cancellation(outcome)
    provider_cancelled = (
        outcome.status is VisitStatus.CANCELLED and outcome.cancelled_by is CancelledBy.PROVIDER
    )
    planned = outcome.planned_minutes * 60 * outcome.carers_required
    return VisitMeasures(
        cancelled=excused,
        missed=outcome.status is VisitStatus.MISSED or provider_cancelled,
        completed=outcome.status is VisitStatus.COMPLETED,
        checked_in=outcome.first_check_in is not None,
        no_checkout=outcome.status is VisitStatus.NO_CHECKOUT,
        planned_seconds=planned if outcome.scheduled and not excused else 0,
        lateness_seconds=_lateness_seconds(outcome),
    )


def _lateness_seconds(outcome: VisitOutcomeRecorded) -> int | None:
    if outcome.first_check_in is None or outcome.planned_start is None:
        return None
    late = (outcome.first_check_in - outcome.planned_start).total_seconds()
    return max(0, round(late))
