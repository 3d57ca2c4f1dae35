"""Contract rules: the frozen policy a visit is judged by, and the versioned rule book.

A contract manager changes rules from a stated local date, for every lot and service or
for one lot and/or one service. A change never rewrites results for visits before its
date: the rule book resolves ``(lot, service, date)`` to the policy in force that day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Policy:
    """The rules one visit is judged by; the defaults are docs/rules.md's.

    Minutes are whole minutes; ``short_visit_ratio`` is a fraction of one.
    """

    punctuality_window_minutes: int = 15
    not_arrived_after_minutes: int = 30
    time_critical_not_arrived_after_minutes: int = 15
    missed_after_minutes: int = 120
    no_checkout_after_end_minutes: int = 60
    short_visit_ratio: Decimal = Decimal("0.80")
    gps_distance_limit_m: int = 250
    implausible_duration_minutes: int = 24 * 60
    late_correction_days: int = 7
    """A call-time correction made more local days than this after the visit is held."""
    frustrated_pay_share: Decimal = Decimal(0)
    """The share of what the planned call would pay that a frustrated visit pays."""
    escalate_to_council_after_minutes: int = 15
    escalate_to_manager_after_minutes: int = 30
    """Both measured from the raise of an unacknowledged alert."""
    travel_road_factor: Decimal = Decimal("1.30")
    """Road distance over straight-line distance between two clients' homes."""
    travel_speed_kmh_urban: int = 24
    travel_speed_kmh_rural_town_fringe: int = 40
    travel_speed_kmh_rural_village_dispersed: int = 48
    """Average door-to-door driving speeds by the ONS rurality class of a client's home."""
    travel_overhead_minutes: int = 2
    """Parking and walking to the door, added to every journey between two homes."""


DEFAULT_POLICY = Policy()
POLICY_FIELDS = frozenset(f.name for f in fields(Policy))


@dataclass(frozen=True, slots=True)
class RuleChange:
    """Overrides that apply from ``effective_from`` (a local day) to a scope.

    ``lot_id``/``service`` of ``None`` mean every lot / every service. Fields left out
    of ``overrides`` inherit from the broader scope (and finally from the defaults).
    """

    rules_id: str
    effective_from: date
    overrides: Mapping[str, Any]
    lot_id: str | None = None
    service: str | None = None
    recorded_at: datetime | None = None
    event_id: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.overrides) - POLICY_FIELDS
        if unknown:
            raise ValueError(f"unknown rule(s): {', '.join(sorted(unknown))}")

    @property
    def specificity(self) -> int:
        """0 for every lot and service, 1 for a service, 2 for a lot, 3 for both."""
        return (2 if self.lot_id is not None else 0) + (1 if self.service is not None else 0)

    def order_key(self) -> tuple[date, str, str, str]:
        """Later effective dates win; ties are broken by record time, then ids."""
        recorded = self.recorded_at.isoformat() if self.recorded_at else ""
        return (self.effective_from, recorded, self.event_id, self.rules_id)


@dataclass(slots=True)
class RuleBook:
    """All rule changes ever set, resolved on demand; insertion order does not matter."""

    changes: dict[str, RuleChange] = field(default_factory=dict)
    base: Policy = DEFAULT_POLICY
    _cache: dict[tuple[str | None, str | None, date], Policy] = field(default_factory=dict)
    _in_force: dict[tuple[str | None, str | None, date], tuple[RuleChange, ...]] = field(
        default_factory=dict)

    def add(self, change: RuleChange) -> None:
        """Record a rule change (keyed by its event id, so a redelivery changes nothing)."""
        self.changes[change.event_id or change.rules_id] = change
        self._cache.clear()
        self._in_force.clear()

    def resolve(self, lot_id: str | None, service: str | None, day: date) -> Policy:
        """Return the policy in force on local ``day`` for a lot and service.

        For each scope (all, service, lot, lot and service — broadest first) the latest
        change effective on ``day`` applies; narrower scopes override broader ones field
        by field. Changes effective after ``day`` are ignored.
        """
        key = (lot_id, service, day)
        policy = self._cache.get(key)
        if policy is None:
            policy = self._resolve(lot_id, service, day)
            self._cache[key] = policy
        return policy

    def in_force(self, lot_id: str | None, service: str | None, day: date
                 ) -> tuple[RuleChange, ...]:
        """Return the changes ``resolve`` applies on ``day``, broadest scope first.

        What judged a visit (docs/rules.md, "Which rules and rates judged a visit"): an
        empty tuple means the defaults alone.
        """
        key = (lot_id, service, day)
        changes = self._in_force.get(key)
        if changes is None:
            latest: dict[int, RuleChange] = {}
            for change in self.changes.values():
                if change.effective_from > day:
                    continue
                if change.lot_id not in (None, lot_id) or change.service not in (None, service):
                    continue
                held = latest.get(change.specificity)
                if held is None or change.order_key() > held.order_key():
                    latest[change.specificity] = change
            changes = self._in_force[key] = tuple(latest[s] for s in sorted(latest))
        return changes

    def _resolve(self, lot_id: str | None, service: str | None, day: date) -> Policy:
        policy = self.base
        for change in self.in_force(lot_id, service, day):
            policy = replace(policy, **dict(change.overrides))
        return policy
