"""What a simulation run is asked for, and the Kent-scale targets it is calibrated to."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
"""Days, runs and rotas are generated in local time; timestamps carry the UTC offset."""

# Kent figures from the domain brief (docs/rules.md names it); everything else scales from these.
ADULTS = 4_500
CHILDREN = 200
LOTS = 20
FRAMEWORK_PROVIDERS = 30
OFF_FRAMEWORK_PROVIDERS = 110
TARGET_VISITS_PER_WEEK = 72_000
TARGET_HOURS_PER_WEEK = 57_000


@dataclass(frozen=True)
class SimulationConfig:
    """One simulation run: same config, same bytes.

    Attributes:
        seed: Seeds every random stream of the run.
        start: First local day simulated (its schedule is published the day before).
        weeks: Number of weeks (7 days each) simulated.
        scale: Shrinks the population, and so every volume, proportionally.
        malformed_rate: Share of extra lines that are invalid JSON or schema-invalid.

    """

    seed: int = 42
    start: date = date(2026, 11, 16)
    weeks: int = 1
    scale: float = 1.0
    malformed_rate: float = 0.0005

    def __post_init__(self) -> None:
        if self.weeks < 1:
            raise ValueError("weeks must be at least 1")
        if not 0 < self.scale <= 10:
            raise ValueError("scale must be in (0, 10]")
        if not 0 <= self.malformed_rate < 1:
            raise ValueError("malformed_rate must be in [0, 1)")

    @property
    def days(self) -> list[date]:
        """Every local day simulated, in order."""
        return [self.start + timedelta(days=i) for i in range(self.weeks * 7)]

    def scaled(self, count: int, minimum: int = 1) -> int:
        """Return a Kent-scale count shrunk by ``scale``, never below ``minimum``."""
        return max(minimum, round(count * self.scale))

    def rng(self, *labels: object) -> random.Random:
        """Return an independent, reproducible random stream for one component (and day).

        Seeding with text hashes it with SHA-512, so streams do not depend on
        ``PYTHONHASHSEED`` and never touch the global ``random`` state.
        """
        return random.Random("/".join(str(x) for x in (self.seed, *labels)))
