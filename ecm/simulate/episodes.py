"""Discharge to Assess episodes: short packages that start and end during the run.

Each D2A place in the population takes one person after another: an episode lasts
three days (extended to five for some), then the place stays empty for a few days.
Each episode is its own care package, agreed the day before it starts.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

from ecm.contracts import Service
from ecm.simulate.population import Package


def is_short_term(package: Package) -> bool:
    """Whether the package is a D2A place whose care comes in episodes."""
    return package.service is Service.DISCHARGE_TO_ASSESS


def episodes(package: Package, days: list[date], rng: random.Random) -> list[Package]:
    """Return the episodes of one D2A place over ``days``, each an effective-dated package."""
    first, last = days[0], days[-1]
    begin = first + timedelta(days=rng.randint(0, 3))
    found: list[Package] = []
    while begin <= last:
        length = 5 if rng.random() < 0.3 else 3
        end = begin + timedelta(days=length - 1)
        package_id = f"{package.package_id}-E{len(found) + 1:03d}"
        found.append(
            replace(package, package_id=package_id, effective_from=begin, effective_to=end)
        )
        begin = end + timedelta(days=1 + rng.randint(0, 3))
    return found


def active_on(package: Package, day: date) -> bool:
    """Whether a package's care plan has calls on ``day``."""
    if day < package.effective_from:
        return False
    if package.effective_to is not None and day > package.effective_to:
        return False
    return is_short_term(package) or day.weekday() in package.plan.weekdays
