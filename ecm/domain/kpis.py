"""Key performance indicators per provider × lot × service × ISO week (Europe/London).

Definitions: docs/rules.md, "Key performance indicators". What one visit adds to each
KPI is decided once, here (``visit_measures``); everything else only sums: the rows of
``ecm replay``'s kpis.csv (``aggregate``), the sink's ``kpi_*`` columns and the SQL
rollups and KPI query over them. Sums are exact (integer seconds, ``Decimal`` pounds);
rounding happens only when a row is formatted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from ecm.domain.calendar import week_days
from ecm.domain.outcome import VisitOutcome, VisitStatus
from ecm.domain.punctuality import Punctuality
from ecm.domain.reference import ReferenceData
from ecm.domain.rota import GapStatus, TravelGap

KPI_COLUMNS = (
    "provider_id", "lot_id", "service", "iso_week", "commissioned_hours", "planned_hours",
    "delivered_hours", "delivery_ratio", "visits_planned", "visits_completed",
    "visits_cancelled", "on_time", "early", "late", "missed", "short", "no_checkout",
    "single_handed", "manual_entries", "ecm_compliance", "continuity",
    "avg_lateness_minutes", "payable_gbp", "visits_verified", "visits_frustrated",
    "verified_gbp", "disputed_gbp", "mean_trust_score",
)
"""The columns of ``kpis.csv``, in order."""

KpiKey = tuple[str, str, str, str]
"""(provider_id, lot_id, service, iso_week); an unknown lot or service is ``""``."""


@dataclass(frozen=True, slots=True)
class VisitMeasures:
    """One visit's contribution to each count and sum of its KPI row."""

    planned: bool  # on the rota (cancelled ones included)
    cancelled: bool  # cancelled by the client, the council or for a hospital admission
    completed: bool
    on_time: bool
    early: bool
    late: bool
    missed: bool
    short: bool
    no_checkout: bool
    single_handed: bool
    manual_entry: bool
    checked_in: bool
    electronic: bool
    planned_seconds: int
    delivered_seconds: int
    lateness_seconds: int | None  # None: no planned start or no check-in
    payable: Decimal
    verified: bool  # no exception needing a decision unaccepted, no correction held
    frustrated: bool
    verified_gbp: Decimal  # payable on a verified visit, else 0
    disputed_gbp: Decimal  # payable - verified_gbp
    trust_score: int | None  # 0-100; None: an outcome of a version that did not say


def visit_measures(outcome: VisitOutcome) -> VisitMeasures:
    """Return what one visit adds to each KPI of its provider × lot × service × week.

    Guarantees: an excused cancellation counts as planned and cancelled and adds no
    planned seconds; a provider's cancellation is missed, never cancelled (its status is
    never ``cancelled``); planned seconds count ``carers_required`` carers; a visit that
    needs more carers than checked in is never completed (docs/rules.md, "Double-handed
    visits"). The flags and sums the outcome already states (short, single-handed,
    manual, electronic, delivered seconds, payable) are taken as they are, so a store
    that keeps the outcome's own columns sums the same measures. Every visit with an
    outcome (unscheduled ones too) is verified or in dispute; a frustrated visit is
    neither completed nor missed (docs/rules.md, "Closing the loop").
    """
    status, punctuality = outcome.status, outcome.punctuality
    cancelled = outcome.scheduled and status is VisitStatus.CANCELLED
    return VisitMeasures(
        planned=outcome.scheduled,
        cancelled=cancelled,
        completed=status is VisitStatus.COMPLETED
        and len(outcome.carer_ids) >= outcome.carers_required,
        on_time=punctuality is Punctuality.ON_TIME,
        early=punctuality is Punctuality.EARLY,
        late=punctuality is Punctuality.LATE,
        missed=status is VisitStatus.MISSED,
        short=outcome.short,
        no_checkout=status is VisitStatus.NO_CHECKOUT,
        single_handed=outcome.single_handed,
        manual_entry=outcome.manual_entry,
        checked_in=outcome.checked_in,
        electronic=outcome.electronic,
        planned_seconds=0 if cancelled or not outcome.scheduled
        else outcome.planned_seconds * outcome.carers_required,
        delivered_seconds=outcome.delivered_seconds,
        lateness_seconds=outcome.lateness_seconds if punctuality is not None else None,
        payable=outcome.payable,
        verified=not outcome.in_dispute,
        frustrated=status is VisitStatus.FRUSTRATED,
        verified_gbp=outcome.verified_gbp,
        disputed_gbp=outcome.disputed_gbp,
        trust_score=outcome.trust.score if outcome.trust is not None else None,
    )


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
    visits_verified: int = 0
    visits_frustrated: int = 0
    verified_gbp: Decimal = Decimal(0)
    disputed_gbp: Decimal = Decimal(0)
    trust_sum: int = 0
    trust_assessed: int = 0
    carers_by_client: dict[str, set[str]] = field(default_factory=dict)

    @property
    def mean_trust_score(self) -> Decimal | None:
        """The mean trust score of the row's visits that have one (docs/rules.md, "Trust score")."""
        return None if not self.trust_assessed else Decimal(self.trust_sum) / self.trust_assessed

    @property
    def commissioned_hours(self) -> Decimal:
        """Weekly package hours, pro rata by the days of the week each package is active."""
        return self.commissioned_day_hours / 7

    def add(self, outcome: VisitOutcome) -> None:
        """Count one visit into the row: the sums of its ``visit_measures``."""
        m = visit_measures(outcome)
        self.visits_planned += m.planned
        self.visits_cancelled += m.cancelled
        self.planned_seconds += m.planned_seconds
        self.delivered_seconds += m.delivered_seconds
        self.payable += m.payable
        self.visits_completed += m.completed
        self.missed += m.missed
        self.no_checkout += m.no_checkout
        self.short += m.short
        self.single_handed += m.single_handed
        self.manual_entries += m.manual_entry
        self.checked_in += m.checked_in
        self.electronic += m.electronic
        self.on_time += m.on_time
        self.early += m.early
        self.late += m.late
        self.visits_verified += m.verified
        self.visits_frustrated += m.frustrated
        self.verified_gbp += m.verified_gbp
        self.disputed_gbp += m.disputed_gbp
        if m.trust_score is not None:
            self.trust_assessed += 1
            self.trust_sum += m.trust_score
        if m.lateness_seconds is not None:
            self.punctual_checked_in += 1
            self.lateness_seconds += m.lateness_seconds
        if m.checked_in:
            self.carers_by_client.setdefault(outcome.client_id, set()).update(outcome.carer_ids)


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
    """Format a row for ``kpis.csv``: hours and means to 2 decimals, money to the penny.

    Ratios are to 4 decimals; the means (lateness minutes, trust score) to 2. Ratios and
    means are empty when their denominator is zero.
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
        str(row.visits_verified),
        str(row.visits_frustrated),
        _fixed(row.verified_gbp, "0.01"),
        _fixed(row.disputed_gbp, "0.01"),
        "" if (trust := row.mean_trust_score) is None else _fixed(trust, "0.01"),
    ]


ROTA_COLUMNS = (
    "provider_id", "lot_id", "iso_week", "gaps_judged", "gaps_short", "short_gap_share",
    "travel_minutes_not_allowed",
)
"""The columns of rota realism per provider × lot × ISO week (``rota.csv``, the pack)."""


@dataclass(slots=True)
class RotaRow:
    """Rota realism totals for one provider, lot and week (docs/rules.md, "Rota realism").

    A gap counts in the week and lot of the visit it precedes; a withdrawn one not at all.
    """

    key: tuple[str, str, str]  # (provider_id, lot_id or "", iso_week)
    gaps_judged: int = 0
    gaps_short: int = 0
    shortfall_seconds: int = 0

    def add(self, gap: TravelGap) -> None:
        """Add one carer's gap before one visit: judged, short, and the travel not allowed."""
        self.gaps_judged += gap.status is GapStatus.JUDGED
        self.gaps_short += gap.short
        self.shortfall_seconds += gap.shortfall_seconds

    @property
    def short_gap_share(self) -> Decimal | None:
        """Short gaps over judged gaps (``None`` when no gap was judged)."""
        return Decimal(self.gaps_short) / self.gaps_judged if self.gaps_judged else None


def aggregate_gaps(gaps: Iterable[TravelGap]) -> list[RotaRow]:
    """Sum gaps into rota realism rows, sorted by provider, lot and week."""
    rows: dict[tuple[str, str, str], RotaRow] = {}
    for gap in gaps:
        if gap.status is GapStatus.WITHDRAWN:
            continue
        key = (gap.provider_id, gap.lot_id or "", gap.week)
        row = rows.get(key)
        if row is None:
            row = rows[key] = RotaRow(key)
        row.add(gap)
    return [rows[k] for k in sorted(rows)]


def format_rota_row(row: RotaRow) -> list[str]:
    """One rota realism row as text: the share to 4 places, minutes to 2, half-up."""
    share = row.short_gap_share
    minutes = Decimal(row.shortfall_seconds) / 60
    return [*row.key, str(row.gaps_judged), str(row.gaps_short),
            "" if share is None else str(share.quantize(Decimal("0.0001"), ROUND_HALF_UP)),
            str(minutes.quantize(Decimal("0.01"), ROUND_HALF_UP))]
