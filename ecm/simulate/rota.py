"""The planned rota: carer runs in time order, with travel between clients.

For every provider, lot and run of the day (morning, lunch, tea, bed) the provider's
clients are ordered into geographic runs (nearest neighbour from the lot centre); each
visit's planned start follows the previous visit plus travel, so a late carer stays
late along the run. Runs are stable from week to week; a carer works five days in
seven and a relief carer covers the rest (continuity of care).

Some providers (``squeezes_gaps``) plan some visits too soon after the previous one for
the travel between them (the regulator's "no time allowed for travel between visits"):
those stops are marked ``squeezed``, the simulator's ground truth for rota realism.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from ecm.contracts import Rurality
from ecm.simulate.geo import travel_minutes
from ecm.simulate.patterns import SLOT_WINDOWS, PlannedCall
from ecm.simulate.population import Lot, Package, Population

RUN_STAGGER_MINUTES = (0, 15, 30)
SQUEEZE_SHARE = 0.2
"""Share of a squeezing provider's stops (after a run's first) planned too soon."""
SQUEEZE_MIN_TRAVEL = 5
"""Only a journey of at least this many minutes is squeezed (shorter ones barely can be)."""


def squeezes_gaps(provider_id: str) -> bool:
    """Whether a provider plans some gaps too short for travel: one provider in four."""
    return int(provider_id[1:]) % 4 == 2


@dataclass(frozen=True)
class Stop:
    """One call on a run: the package, the call, and its planned local start in minutes."""

    package: Package
    call: PlannedCall
    start_minute: int
    travel_in: int
    """Travel from the previous stop (0 for the first), what the carer really needs."""
    squeezed: bool = False
    """Planned deliberately less than ``travel_in`` after the previous stop ends."""


@dataclass
class Run:
    """A carer's (or a pair's) sequence of calls in one window of the day."""

    provider_id: str
    lot_id: str
    slot: int
    carers_required: int
    seat: int
    """The run's index among the team's runs of this slot and crew size."""
    carers: tuple[str, ...] = ()
    stops: list[Stop] = field(default_factory=list)


@dataclass
class Team:
    """A provider's carers in one lot: the regular ones by run, and relief carers."""

    provider_id: str
    lot_id: str
    regular: list[str] = field(default_factory=list)
    relief: list[str] = field(default_factory=list)


@dataclass
class Rota:
    """Every run of the week template, and every carer by team."""

    runs: list[Run]
    teams: list[Team]


def _tour(
    packages: list[tuple[Package, PlannedCall]], lot: Lot
) -> list[tuple[Package, PlannedCall]]:
    """Order calls by nearest neighbour, starting from the lot centre."""
    left = list(packages)
    here, ordered = lot.centre, []
    while left:
        i = min(range(len(left)), key=lambda k: _sq(here, left[k][0].client.location))
        here = left[i][0].client.location
        ordered.append(left.pop(i))
    return ordered


def _sq(a: tuple[float, float], b: tuple[float, float]) -> float:
    dlon = (a[1] - b[1]) * 0.63  # cos(51.3 deg): degrees of longitude are shorter
    return (a[0] - b[0]) ** 2 + dlon**2


def _chunk_runs(
    calls: list[tuple[Package, PlannedCall]], slot: int, squeeze: random.Random | None = None
) -> list[list[Stop]]:
    """Cut an ordered tour into runs that fit the slot window.

    With ``squeeze``, some stops are planned with less than half their travel allowed.
    """
    first, last = SLOT_WINDOWS[slot]
    runs: list[list[Stop]] = []
    t, prev = first, None
    for package, call in calls:
        rural = package.client.rurality is not Rurality.URBAN
        travel = 0 if prev is None else travel_minutes(prev, package.client.location, rural)
        if not runs or t + travel + call.minutes > last:
            runs.append([])
            t, travel = first + RUN_STAGGER_MINUTES[len(runs) % 3], 0
        start, squeezed = 5 * math.ceil((t + travel) / 5), False
        if (squeeze is not None and travel >= SQUEEZE_MIN_TRAVEL
                and squeeze.random() < SQUEEZE_SHARE):
            allowed = travel * squeeze.uniform(0.0, 0.5)
            start, squeezed = max(t, 5 * math.floor((t + allowed) / 5)), True
        runs[-1].append(Stop(package, call, start, travel, squeezed))
        t, prev = start + call.minutes, package.client.location
    return runs


def _group_calls(
    population: Population,
) -> dict[tuple[str, str, int, int], list[tuple[Package, PlannedCall]]]:
    groups: dict[tuple[str, str, int, int], list[tuple[Package, PlannedCall]]] = {}
    for package in population.packages:
        for call in package.plan.calls:
            key = (
                package.provider_id,
                package.client.lot_id,
                call.slot,
                package.plan.carers_required,
            )
            groups.setdefault(key, []).append((package, call))
    return groups


def build_rota(population: Population, seed: int = 42) -> Rota:
    """Build the week's run template and the carers who work it.

    Guarantees: every call of every package is on exactly one run; a carer has at
    most one run per slot; carer ids are unique across providers; only providers that
    ``squeezes_gaps`` plan stops ``squeezed`` (from ``seed``, deterministically).
    """
    lots = {lot.lot_id: lot for lot in population.lots}
    runs: list[Run] = []
    for (provider_id, lot_id, slot, pair), calls in sorted(_group_calls(population).items()):
        squeeze = (random.Random(f"{seed}/squeeze/{provider_id}/{lot_id}/{slot}/{pair}")
                   if squeezes_gaps(provider_id) else None)
        for seat, stops in enumerate(_chunk_runs(_tour(calls, lots[lot_id]), slot, squeeze)):
            runs.append(Run(provider_id, lot_id, slot, pair, seat, stops=stops))
    return Rota(runs, _staff(runs))


def _staff(runs: list[Run]) -> list[Team]:
    """Give each run its regular carer(s): seat ``i`` of every slot is the same carer."""
    need: dict[tuple[str, str], list[int]] = {}
    for run in runs:
        seats = need.setdefault((run.provider_id, run.lot_id), [0, 0])
        seats[run.carers_required - 1] = max(seats[run.carers_required - 1], run.seat + 1)
    teams, number = {}, 0
    for (provider_id, lot_id), (singles, pairs) in need.items():
        regular = singles + 2 * pairs
        ids = [f"W{number + i + 1:05d}" for i in range(regular + math.ceil(regular * 0.35) + 1)]
        number += len(ids)
        teams[(provider_id, lot_id)] = Team(provider_id, lot_id, ids[:regular], ids[regular:])
    for run in runs:
        team, singles = teams[(run.provider_id, run.lot_id)], need[(run.provider_id, run.lot_id)][0]
        first = run.seat if run.carers_required == 1 else singles + 2 * run.seat
        run.carers = tuple(team.regular[first : first + run.carers_required])
    return list(teams.values())
