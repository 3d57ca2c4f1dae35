"""Key performance indicators per provider × lot × service × ISO week (Europe/London).

Definitions are DOMAIN.md's "Key performance indicators" table. Sums are exact
(integer seconds, ``Decimal`` pounds); rounding happens only when a row is formatted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from ecm.domain.calendar import week_days
from ecm.domain.outcome import VisitOutcome, VisitStatus
from ecm.domain.punctuality import Punctuality
from ecm.domain.reference import ReferenceData

KPI_COLUMNS = (
    "provider_id", "lot_id", "service", "iso_week", "commissioned_hours", "planned_hours",
    "delivered_hours", "delivery_ratio", "visits_planned", "visits_completed",
    "visits_cancelled", "on_time", "early", "late", "missed", "short", "no_checkout",
    "single_handed", "manual_entries", "ecm_compliance", "continuity",
    "avg_lateness_minutes", "payable_gbp",
)
"""The columns of ``kpis.csv``, in order."""

KpiKey = tuple[str, str, str, str]
"""(provider_id, lot_id, service, iso_week); an unknown lot or service is ``""``."""


@dataclass(slots=True)
class KpiRow:
    """Exact running totals for one provider, lot, service and week."""

    key: KpiKey
    commissioned_day_hours: Decimal = Decimal(0)
    planned_seconds: int = 0
    delivered_seconds: int = 0
    visits_planned: int = 0
    visits_completed: int = 0
    visits_cancelled: int = 0
    on_time: int = 0
    early: int = 0
    late: int = 0
    missed: int = 0
    short: int = 0
    no_checkout: int = 0
    single_handed: int = 0
    manual_entries: int = 0
    checked_in: int = 0
    electronic: int = 0
    punctual_checked_in: int = 0
    lateness_seconds: int = 0
    payable: Decimal = Decimal(0)
    carers_by_client: dict[str, set[str]] = field(default_factory=dict)

    @property
    def commissioned_hours(self) -> Decimal:
        """Weekly package hours, pro rata by the days of the week each package is active."""
        return self.commissioned_day_hours / 7

    def add(self, outcome: VisitOutcome) -> None:
        """Count one visit into the row."""
        if outcome.scheduled:
            self.visits_planned += 1
            if outcome.status is VisitStatus.CANCELLED:
                self.visits_cancelled += 1
                return
            self.planned_seconds += outcome.planned_seconds * outcome.carers_required
        self.delivered_seconds += outcome.delivered_seconds
        self.payable += outcome.payable
        self.visits_completed += outcome.status is VisitStatus.COMPLETED
        self.missed += outcome.status is VisitStatus.MISSED
        self.no_checkout += outcome.status is VisitStatus.NO_CHECKOUT
        self.short += outcome.short
        self.single_handed += outcome.single_handed
        self.manual_entries += outcome.manual_entry
        if outcome.checked_in:
            self._add_check_in(outcome)

    def _add_check_in(self, outcome: VisitOutcome) -> None:
        self.checked_in += 1
        self.electronic += outcome.electronic
        self.carers_by_client.setdefault(outcome.client_id, set()).update(outcome.carer_ids)
        if outcome.punctuality is None:
            return
        self.on_time += outcome.punctuality is Punctuality.ON_TIME
        self.early += outcome.punctuality is Punctuality.EARLY
        self.late += outcome.punctuality is Punctuality.LATE
        self.punctual_checked_in += 1
        self.lateness_seconds += outcome.lateness_seconds or 0


def outcome_key(outcome: VisitOutcome) -> KpiKey:
    """Return the KPI row a visit counts in."""
    return (outcome.provider_id, outcome.lot_id or "", outcome.service or "", outcome.iso_week)


def aggregate(outcomes: Iterable[VisitOutcome], reference: ReferenceData) -> list[KpiRow]:
    """Aggregate outcomes, and the packages commissioned in their weeks, into sorted rows.

    Commissioned hours are counted for the ISO weeks that appear in the visits; a
    package with no visit in such a week still gets its row.
    """
    rows: dict[KpiKey, KpiRow] = {}
    for outcome in outcomes:
        key = outcome_key(outcome)
        row = rows.get(key)
        if row is None:
            row = rows[key] = KpiRow(key)
        row.add(outcome)
    weeks = sorted({key[3] for key in rows})
    for key, day_hours in commissioned_day_hours(reference, weeks).items():
        row = rows.get(key)
        if row is None:
            row = rows[key] = KpiRow(key)
        row.commissioned_day_hours += day_hours
    return [rows[key] for key in sorted(rows)]


def commissioned_day_hours(reference: ReferenceData, weeks: Iterable[str]) -> dict[KpiKey, Decimal]:
    """Return, per row, the sum over active package days of the weekly hours (÷7 = hours)."""
    totals: dict[KpiKey, Decimal] = {}
    for week in weeks:
        days = week_days(week)
        for package_id in sorted(reference.packages.ids()):
            for day in days:
                package = reference.package(package_id, day)
                if package is None or package.weekly_hours == 0:
                    continue
                key = (package.provider_id, package.lot_id, package.service, week)
                totals[key] = totals.get(key, Decimal(0)) + package.weekly_hours
    return totals


def _fixed(value: Decimal, places: str) -> str:
    return str(value.quantize(Decimal(places), rounding=ROUND_HALF_UP))


def _ratio(numerator: Decimal, denominator: Decimal, places: str = "0.0001") -> str:
    return "" if denominator == 0 else _fixed(numerator / denominator, places)


def format_row(row: KpiRow) -> list[str]:
    """Format a row for ``kpis.csv``: hours to 2 decimals, money to the penny, ratios to 4.

    Ratios and means are empty when their denominator is zero.
    """
    delivered = Decimal(row.delivered_seconds) / 3600
    commissioned = row.commissioned_hours
    continuity_sum = Decimal(sum(len(c) for c in row.carers_by_client.values()))
    return [
        *row.key,
        _fixed(commissioned, "0.01"),
        _fixed(Decimal(row.planned_seconds) / 3600, "0.01"),
        _fixed(delivered, "0.01"),
        _ratio(delivered, commissioned),
        *(str(n) for n in (row.visits_planned, row.visits_completed, row.visits_cancelled,
                           row.on_time, row.early, row.late, row.missed, row.short,
                           row.no_checkout, row.single_handed, row.manual_entries)),
        _ratio(Decimal(row.electronic), Decimal(row.checked_in)),
        _ratio(continuity_sum, Decimal(len(row.carers_by_client))),
        _ratio(Decimal(row.lateness_seconds) / 60, Decimal(row.punctual_checked_in), "0.01"),
        _fixed(row.payable, "0.01"),
    ]
