"""One simulated day: who is planned, who is in hospital, and how each run goes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from ecm.contracts import CancelledBy
from ecm.simulate import behaviour as bh
from ecm.simulate import truth
from ecm.simulate.clock import local_ts
from ecm.simulate.config import SimulationConfig
from ecm.simulate.episodes import active_on, episodes, is_short_term
from ecm.simulate.population import Package, Population
from ecm.simulate.rota import Rota, Run, Team

PUBLISH_MINUTE = 17 * 60
"""Providers publish tomorrow's rota from 17:00 local, each at its own time."""
ADMISSION_RATE = 0.0012
"""Chance per client per day of a hospital admission."""


@dataclass
class World:
    """The state a run carries from day to day (bounded: one entry per client at most)."""

    config: SimulationConfig
    population: Population
    rota: Rota
    rates: dict[str, bh.Rates]
    teams: dict[tuple[str, str], Team]
    episodes: dict[str, list[Package]]
    episodes_from: dict[date, list[Package]]
    in_hospital_until: dict[str, date] = field(default_factory=dict)

    @classmethod
    def build(cls, config: SimulationConfig, population: Population, rota: Rota) -> World:
        """Derive rates, teams and D2A episodes from the population and rota."""
        rng = config.rng("episodes")
        found = {
            p.client.client_id: episodes(p, config.days, rng)
            for p in population.packages
            if is_short_term(p)
        }
        starting: dict[date, list[Package]] = {}
        for episode in (e for client_episodes in found.values() for e in client_episodes):
            starting.setdefault(episode.effective_from, []).append(episode)
        return cls(
            config,
            population,
            rota,
            {p.provider_id: bh.Rates(p.quality) for p in population.providers},
            {(t.provider_id, t.lot_id): t for t in rota.teams},
            found,
            starting,
        )

    def package_on(self, package: Package, day: date) -> Package | None:
        """Return the package (or D2A episode) delivering ``package``'s plan on ``day``, if any."""
        if is_short_term(package):
            found = self.episodes.get(package.client.client_id, [])
            package = next((e for e in found if active_on(e, day)), package)
            if package.effective_to is None:
                return None
        if not active_on(package, day):
            return None
        back = self.in_hospital_until.get(package.client.client_id)
        return package if back is None or back <= day else None


@dataclass
class DayPlan:
    """What a day produces: its stories, the D2A episodes starting, publication times."""

    day: date
    stories: list[bh.VisitStory] = field(default_factory=list)
    new_episodes: list[Package] = field(default_factory=list)
    published: dict[str, int] = field(default_factory=dict)
    truth: list[dict[str, object]] = field(default_factory=list)
    """Ground truth of the day (``ecm.simulate.truth``): never on the wire."""


def publication_time(provider_id: str, day: date) -> int:
    """When a provider publishes ``day``'s rota: between 17:00 and 20:00 the day before."""
    offset = (int(provider_id[1:]) * 37) % 180
    return local_ts(day - timedelta(days=1), PUBLISH_MINUTE + offset)


def admit_to_hospital(world: World, rng: random.Random, day: date) -> dict[str, int]:
    """Admit a few clients today; return the admission time by client."""
    admitted: dict[str, int] = {}
    earliest = local_ts(day - timedelta(days=1), 18 * 60 + 30)
    latest = local_ts(day, 17 * 60 + 30)
    for package in world.population.packages:
        client_id = package.client.client_id
        if client_id in admitted or world.package_on(package, day) is None:
            continue
        if rng.random() < ADMISSION_RATE:
            admitted[client_id] = rng.randint(earliest, latest)
            world.in_hospital_until[client_id] = day + timedelta(days=rng.randint(2, 10))
    return admitted


def crew_for(
    world: World,
    run: Run,
    day: date,
    rng: random.Random,
    used_relief: dict[tuple[str, str, int], int],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Choose the carers of a run today: (planned on the rota, who actually works it).

    A regular carer's day off is planned: a relief carer is on the rota instead. A
    regular who does not turn up (more often at a poor provider) is replaced by a relief
    carer on the day: planned and actual crews then differ.
    """
    team = world.teams[(run.provider_id, run.lot_id)]
    poor = world.rates[run.provider_id].poor
    planned, actual = [], []
    for carer in run.carers:
        off = (int(carer[1:]) + day.weekday()) % 7 in (0, 3)
        absent = not off and rng.random() < 0.15 * poor
        key = (run.provider_id, run.lot_id, run.slot)
        if (off or absent) and used_relief.get(key, 0) < len(team.relief):
            relief = team.relief[used_relief.get(key, 0)]
            used_relief[key] = used_relief.get(key, 0) + 1
            planned.append(carer if absent else relief)
            actual.append(relief)
        else:
            planned.append(carer)
            actual.append(carer)
    return tuple(planned), tuple(actual)


def plan_day(world: World, day: date) -> DayPlan:
    """Simulate one local day: planned visits, cancellations, changes and every check."""
    rng = world.config.rng("day", day.isoformat())
    absence = world.config.rng("absence", day.isoformat())
    plan = DayPlan(day)
    for provider in world.population.providers:
        plan.published[provider.provider_id] = publication_time(provider.provider_id, day)
    plan.new_episodes = world.episodes_from.get(day, [])
    admitted = admit_to_hospital(world, rng, day)
    used_relief: dict[tuple[str, str, int], int] = {}
    for run in world.rota.runs:
        stories = run_stories(world, run, day, admitted, rng)
        if stories:
            planned, crew = crew_for(world, run, day, rng, used_relief)
            late_start = plan_crew(stories, planned, crew, absence)
            work_run(world, run, stories, crew, rng, late_start)
            plan.stories.extend(stories)
    plan.truth = truth.day_truth(plan.stories)
    return plan


def plan_crew(
    stories: list[bh.VisitStory], planned: tuple[str, ...], crew: tuple[str, ...],
    rng: random.Random,
) -> int:
    """Put the planned carers on the run's visits; return how late a stand-in starts.

    When a planned carer does not turn up, the stand-in starts the run 20 to 60 minutes
    late, and half the time the provider changes the rota to name them, 5 to 45
    minutes before the run's first visit.
    """
    for story in stories:
        story.planned_carers = planned
    if planned == crew:
        return 0
    first = min(s.actual_start for s in stories)
    if rng.random() < 0.5:
        at = first - rng.randint(5, 45) * bh.MINUTE
        for story in stories:
            if story.cancel is None or story.cancel[1] > at:
                story.recrew = (crew, at)
    return rng.randint(20, 60) * bh.MINUTE


def run_stories(
    world: World, run: Run, day: date, admitted: dict[str, int], rng: random.Random
) -> list[bh.VisitStory]:
    """Build the visits planned on a run today, with their cancellations and changes decided."""
    rates, published = world.rates[run.provider_id], publication_time(run.provider_id, day)
    stories = []
    for stop in run.stops:
        package = world.package_on(stop.package, day)
        if package is None:
            continue
        visit_id = f"V{day:%Y%m%d}-{package.client.client_id}-{stop.call.slot + 1}"
        story = bh.stop_story(stop, package, visit_id, local_ts(day, stop.start_minute))
        bh.plan_change(rng, story, published)
        bh.plan_cancellation(rng, story, rates, published)
        admission = admitted.get(package.client.client_id)
        if admission is not None and admission + 3600 < story.actual_start:
            story.cancel = (CancelledBy.HOSPITAL_ADMISSION, admission + rng.randint(600, 3600))
        stories.append(story)
    return stories


def work_run(
    world: World, run: Run, stories: list[bh.VisitStory], crew: tuple[str, ...],
    rng: random.Random, late_start: int = 0,
) -> None:
    """Walk the crew along the run in order, adding each visit's checks.

    For each visit the carer reaches after its start, or never, the simulator's ground
    truth records why (``VisitStory.cause``); a visit planned too soon after the one
    before it on purpose records which (``VisitStory.squeezed_after``).
    """
    rates = world.rates[run.provider_id]
    stops = {s.package.client.client_id: s for s in run.stops}
    stories.sort(key=lambda s: s.actual_start)
    free = stories[0].actual_start + int(max(-5.0, rng.gauss(6 * rates.poor, 5)) * bh.MINUTE)
    free += late_start
    held_up = "carer_absent" if late_start else "crew_started_late"
    previous: bh.VisitStory | None = None  # the last visit the crew worked
    for prior, story in zip([None, *stories], stories, strict=False):
        stop = stops[story.package.client.client_id]
        if prior is not None and stop.squeezed:
            story.squeezed_after = prior.visit_id
        if story.cancel is not None:
            continue
        if bh.is_missed(rng, rates):
            story.cause = story.root_cause = "carer_did_not_come"
            continue
        travel = int(stop.travel_in * rng.uniform(0.8, 1.6) * bh.MINUTE)
        intended, ran_late = bh.intended_arrival(rng, story, rates)
        arrive = max(free + travel, intended)
        if arrive > story.actual_start:
            _delay_cause(story, previous, free, travel, intended, ran_late, held_up)
        leave = arrive + bh.stay_seconds(rng, story, rates)
        add_checks(story, crew, arrive, leave, rates, rng)
        free, previous = leave, story
    if rng.random() < 0.01:
        stories.append(unscheduled_visit(stories[-1], crew[0], free, rates, rng))


def _delay_cause(
    story: bh.VisitStory, previous: bh.VisitStory | None, free: int, travel: int,
    intended: int, ran_late: bool, held_up: str,
) -> None:
    """Record why the carer reached ``story`` after its start, and what started it.

    The carer's own lateness when they would have arrived late anyway; else, on the
    run's first visit, what held the crew up (a stand-in, a late start); else the
    previous visit running over its planned end, or the travel taking longer than the
    rota allowed (``rota_gap_too_short`` when the gap was planned too short on purpose).
    """
    if intended >= free + travel:
        story.cause = story.root_cause = "carer_late" if ran_late else "carer_slightly_late"
    elif previous is None:
        story.cause = story.root_cause = held_up
    else:
        planned_end = previous.actual_start + previous.minutes * bh.MINUTE
        overrun, allowed = free - planned_end, story.actual_start - planned_end
        if overrun >= travel - allowed:
            story.cause = "previous_overran"
            story.root_cause = previous.root_cause or "previous_overran"
        else:
            story.cause = "rota_gap_too_short" if story.squeezed_after else "travel"
            story.root_cause = story.cause


def add_checks(
    story: bh.VisitStory,
    crew: tuple[str, ...],
    arrive: int,
    leave: int,
    rates: bh.Rates,
    rng: random.Random,
) -> None:
    """Check-ins and check-outs for each carer who came (a second carer may not)."""
    for index, carer in enumerate(crew):
        if index > 0 and rng.random() < rates.single_handed:
            continue
        story.checks.append(bh.make_check(rng, rates, carer, True, arrive + rng.randint(0, 90)))
        if rng.random() < rates.no_checkout:
            continue
        out = leave + rng.randint(0, 60)
        story.checks.append(bh.make_check(rng, rates, carer, False, out))
        if rng.random() < 0.005:
            fixed = out + rng.choice((-1, 1)) * rng.randint(5, 20) * bh.MINUTE
            story.corrections.append(bh.Correction(carer, fixed, out + rng.randint(1, 24) * 3600))


def unscheduled_visit(
    last: bh.VisitStory, carer: str, free: int, rates: bh.Rates, rng: random.Random
) -> bh.VisitStory:
    """Add an extra call, not on the rota, to the last client of a run (kept for reconciliation)."""
    start = free + rng.randint(5, 40) * bh.MINUTE
    visit_id = "U" + last.visit_id[1:]
    story = bh.VisitStory(visit_id, last.package, start, 30, 1, False, scheduled=False)
    story.checks.append(bh.make_check(rng, rates, carer, True, start))
    story.checks.append(bh.make_check(rng, rates, carer, False, start + rng.randint(15, 35) * 60))
    return story
