"""What a recalculation changes: per visit, per provider and in money (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ecm import contracts as c

COMPARED = ("status", "punctuality", "short", "delivered_seconds", "payable_gbp",
            "verified_gbp", "trust_score", "judged_by")
"""The figures of an outcome a recalculation compares, in the order they are listed."""


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures of one outcome that a contract manager compares.

    ``trust_score`` and ``judged_by`` are ``None`` for an outcome recorded before version 3
    (which did not say them): they are then not compared.
    """

    status: str
    punctuality: str | None
    short: bool
    delivered_seconds: int
    payable_gbp: Decimal
    verified_gbp: Decimal
    trust_score: int | None
    judged_by: str | None


def figures_of(o: c.VisitOutcomeRecorded) -> Figures:
    """Return the compared figures of an outcome record of any version."""
    verified = o.verified_gbp if isinstance(o, c.VisitOutcomeRecordedV2) else o.payable_gbp
    v3 = o if isinstance(o, c.VisitOutcomeRecordedV3) else None
    return Figures(
        status=o.status.value, punctuality=o.punctuality.value if o.punctuality else None,
        short=o.short, delivered_seconds=o.delivered_seconds, payable_gbp=o.payable_gbp,
        verified_gbp=verified, trust_score=v3.trust_score if v3 else None,
        judged_by=judged_by_text(v3) if v3 else None,
    )


def judged_by_text(o: c.VisitOutcomeRecordedV3) -> str:
    """Which rules and rate card judged a visit, as a contract manager reads it.

    e.g. ``rules kent-2026@2026-04-01, kent-dgs4@2026-11-01; rate card RC1@2026-04-01``.
    """
    rules = ", ".join(f"{v.id}@{v.effective_from}" for v in o.rules_applied) or "defaults"
    card = f"{o.rate_card.id}@{o.rate_card.effective_from}" if o.rate_card else "none"
    return f"rules {rules}; rate card {card}"


def changed_figures(before: Figures | None, after: Figures) -> tuple[str, ...]:
    """The names of the figures that differ (all of them for a visit not stored before)."""
    if before is None:
        return COMPARED
    found = []
    for name in COMPARED:
        old, new = getattr(before, name), getattr(after, name)
        if name in ("trust_score", "judged_by") and old is None:
            continue  # not said before version 3: nothing to compare with
        if old != new:
            found.append(name)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class VisitChange:
    """One visit whose figures a recalculation changes, with the record that would replace."""

    visit_id: str
    provider_id: str
    local_date: date
    changes: tuple[str, ...]
    before: Figures | None
    after: Figures
    before_event_id: str | None
    outcome: c.VisitOutcomeRecorded
    stored: c.VisitOutcomeRecorded | None = None
    """The stored outcome compared with (``None`` if none, or not kept: see ``store.load``)."""

    @property
    def payable_delta(self) -> Decimal:
        """What the visit's pay moves by (after - before)."""
        return self.after.payable_gbp - (self.before.payable_gbp if self.before else 0)


@dataclass(slots=True)
class ProviderChange:
    """A provider's visits judged again: how many changed and the money before and after."""

    provider_id: str
    visits_judged: int = 0
    visits_changed: int = 0
    payable_before: Decimal = Decimal("0.00")
    payable_after: Decimal = Decimal("0.00")
    verified_before: Decimal = Decimal("0.00")
    verified_after: Decimal = Decimal("0.00")

    @property
    def payable_delta(self) -> Decimal:
        """What the provider's payable money moves by."""
        return self.payable_after - self.payable_before

    @property
    def verified_delta(self) -> Decimal:
        """What the provider's verified (payable now) money moves by."""
        return self.verified_after - self.verified_before


@dataclass(slots=True)
class RecalcDiff:
    """Every visit judged again, the ones that changed and the totals per provider."""

    visits: list[VisitChange] = field(default_factory=list)
    providers: dict[str, ProviderChange] = field(default_factory=dict)

    @property
    def visits_judged(self) -> int:
        """How many visits were judged again."""
        return sum(p.visits_judged for p in self.providers.values())

    @property
    def payable_before(self) -> Decimal:
        """Payable money over every visit judged, as stored."""
        return sum((p.payable_before for p in self.providers.values()), Decimal("0.00"))

    @property
    def payable_after(self) -> Decimal:
        """Payable money over every visit judged, as recalculated."""
        return sum((p.payable_after for p in self.providers.values()), Decimal("0.00"))


def compare(
    stored: Mapping[str, c.VisitOutcomeRecorded], recalculated: Iterable[c.VisitOutcomeRecorded]
) -> RecalcDiff:
    """Compare recalculated outcomes with the stored ones, by visit id.

    A visit counts for the provider of its recalculated outcome (and, if it moved, its
    stored money for the stored provider). Visits are listed by provider, day and id;
    only those with a figure that differs are listed.
    """
    diff = RecalcDiff()
    for new in sorted(recalculated, key=lambda o: (o.provider_id, o.local_date, o.visit_id)):
        old = stored.get(new.visit_id)
        before, after = (figures_of(old) if old else None), figures_of(new)
        _count(diff, new.provider_id, None, after)
        if old is not None:
            _count(diff, old.provider_id, before, None)
        changes = changed_figures(before, after)
        if changes:
            diff.providers[new.provider_id].visits_changed += 1
            diff.visits.append(VisitChange(new.visit_id, new.provider_id, new.local_date,
                                           changes, before, after,
                                           old.event_id if old else None, new, old))
    return diff


def _count(diff: RecalcDiff, provider_id: str, before: Figures | None,
           after: Figures | None) -> None:
    row = diff.providers.setdefault(provider_id, ProviderChange(provider_id))
    if after is not None:
        row.visits_judged += 1
        row.payable_after += after.payable_gbp
        row.verified_after += after.verified_gbp
    if before is not None:
        row.payable_before += before.payable_gbp
        row.verified_before += before.verified_gbp
