"""Care plans: which runs a client is visited in, for how long, on which days.

The distributions are calibrated so that Kent's population yields about 72,000 visits
and 57,000 commissioned hours a week (docs/rules.md sources), mostly 30, 45 and 60-minute calls.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from ecm.contracts import Service

MORNING, LUNCH, TEA, BED = 0, 1, 2, 3
SLOT_NAMES = ("morning", "lunch", "tea", "bed")
SLOT_WINDOWS = (
    (7 * 60, 11 * 60),
    (11 * 60 + 30, 14 * 60),
    (16 * 60, 18 * 60 + 30),
    (19 * 60 + 30, 22 * 60 + 30),
)
"""(first start, last end) of each run, in local minutes after midnight."""

ALL_WEEK = (0, 1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class PlannedCall:
    """One call of a care plan: its run, planned minutes and whether it is time-critical."""

    slot: int
    minutes: int
    time_critical: bool = False


@dataclass(frozen=True)
class CarePlan:
    """The calls a client gets on each of ``weekdays`` (0 = Monday)."""

    weekdays: tuple[int, ...]
    calls: tuple[PlannedCall, ...]
    carers_required: int = 1

    @property
    def daily_minutes(self) -> int:
        """Carer minutes commissioned per visited day (double-handed calls count twice)."""
        return sum(c.minutes for c in self.calls) * self.carers_required

    @property
    def weekly_hours(self) -> Decimal:
        """Commissioned carer hours in a full week of this plan."""
        minutes = self.daily_minutes * len(self.weekdays)
        return (Decimal(minutes) / 60).quantize(Decimal("0.01"))


def _pick(rng: random.Random, table: dict[int, float]) -> int:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _days(rng: random.Random) -> tuple[int, ...]:
    roll = rng.random()
    if roll < 0.86:
        return ALL_WEEK
    if roll < 0.95:
        return (0, 1, 2, 3, 4)
    return tuple(sorted(rng.sample(range(7), 3)))


_SLOTS_BY_COUNT = {
    1: ((MORNING,), (LUNCH,)),
    2: ((MORNING, BED), (MORNING, TEA)),
    3: ((MORNING, LUNCH, BED), (MORNING, TEA, BED)),
    4: ((MORNING, LUNCH, TEA, BED),),
}
_MINUTES_BY_SLOT = {
    MORNING: {30: 0.15, 45: 0.40, 60: 0.45},
    LUNCH: {30: 0.6, 45: 0.4},
    TEA: {30: 0.7, 45: 0.3},
    BED: {30: 0.55, 45: 0.35, 60: 0.1},
}


def home_care(rng: random.Random, medication: bool) -> CarePlan:
    """Domiciliary care: one to four calls a day, mostly every day."""
    count = _pick(rng, {1: 0.24, 2: 0.30, 3: 0.24, 4: 0.22})
    slots = rng.choice(_SLOTS_BY_COUNT[count])
    calls = tuple(
        PlannedCall(s, _pick(rng, _MINUTES_BY_SLOT[s]), medication and s in (MORNING, BED))
        for s in slots
    )
    double = rng.random() < {1: 0.0, 2: 0.05, 3: 0.10, 4: 0.19}[count]
    return CarePlan(_days(rng), calls, 2 if double else 1)


def supporting_independence(rng: random.Random) -> CarePlan:
    """SIS: longer outcome-focused sessions, one or two a day."""
    slots = rng.choice(((MORNING,), (LUNCH,), (MORNING, TEA)))
    calls = tuple(PlannedCall(s, rng.choice((60, 90, 120))) for s in slots)
    return CarePlan(rng.choice((ALL_WEEK, (0, 1, 2, 3, 4))), calls)


def extra_care(rng: random.Random) -> CarePlan:
    """Extra Care background hours: short, frequent calls in a housing scheme."""
    count = _pick(rng, {2: 0.4, 3: 0.3, 4: 0.3})
    slots = rng.choice(_SLOTS_BY_COUNT[count])
    return CarePlan(ALL_WEEK, tuple(PlannedCall(s, 30) for s in slots))


def prison_care(rng: random.Random) -> CarePlan:
    """Care and support in prisons: personal care once or twice a day."""
    slots = rng.choice(((MORNING,), (MORNING, TEA)))
    return CarePlan(ALL_WEEK, tuple(PlannedCall(s, rng.choice((30, 45, 60))) for s in slots))


def disabled_children(rng: random.Random) -> CarePlan:
    """Community support for disabled children: a few long sessions a week."""
    weekdays = tuple(sorted(rng.sample(range(7), rng.choice((2, 3, 3, 4)))))
    return CarePlan(weekdays, (PlannedCall(TEA, rng.choice((120, 150, 180, 240))),))


def discharge_to_assess(rng: random.Random) -> CarePlan:
    """Discharge to Assess: four calls a day of wrap-around support (the days come later)."""
    calls = tuple(
        PlannedCall(s, rng.choice((30, 45)), s in (MORNING, BED))
        for s in (MORNING, LUNCH, TEA, BED)
    )
    return CarePlan(ALL_WEEK, calls, 2 if rng.random() < 0.15 else 1)


def care_plan(rng: random.Random, service: Service, medication: bool) -> CarePlan:
    """Draw a care plan for one client receiving ``service``."""
    if service is Service.HOME_CARE:
        return home_care(rng, medication)
    builders = {
        Service.SUPPORTING_INDEPENDENCE: supporting_independence,
        Service.EXTRA_CARE: extra_care,
        Service.PRISON_CARE: prison_care,
        Service.DISABLED_CHILDREN: disabled_children,
        Service.DISCHARGE_TO_ASSESS: discharge_to_assess,
    }
    return builders[service](rng)
