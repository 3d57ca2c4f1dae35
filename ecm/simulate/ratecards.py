"""Rate cards: framework rates per lot, service and tier, and off-framework spot rates.

Framework rates carry a rurality weighting; off-framework providers negotiate their
own rates, so one lot ends up with many distinct rates (the papers counted 67 among
14 providers in one rural cluster) - variation the council wants to see.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal

from ecm.contracts import ProviderKind, Rurality, Service, Tier
from ecm.simulate.population import Population

BASE_RATES = {
    Service.HOME_CARE: Decimal("24.50"),
    Service.SUPPORTING_INDEPENDENCE: Decimal("26.00"),
    Service.EXTRA_CARE: Decimal("21.80"),
    Service.PRISON_CARE: Decimal("27.40"),
    Service.DISABLED_CHILDREN: Decimal("28.20"),
    Service.DISCHARGE_TO_ASSESS: Decimal("26.90"),
}
COMPLEX_UPLIFT = Decimal("3.10")
RURALITY_WEIGHTING = {
    Rurality.URBAN: Decimal("1.0000"),
    Rurality.RURAL_TOWN_FRINGE: Decimal("1.0500"),
    Rurality.RURAL_VILLAGE_DISPERSED: Decimal("1.1200"),
}
CENT = Decimal("0.01")


class RateCard:
    """One hourly rate, framework (``provider_id`` None) or off-framework."""

    __slots__ = (
        "rate_card_id",
        "provider_id",
        "lot_id",
        "service",
        "tier",
        "hourly_rate",
        "rurality_weighting",
    )

    def __init__(
        self,
        provider_id: str | None,
        lot_id: str,
        service: Service,
        tier: Tier,
        hourly_rate: Decimal,
        weighted: bool,
    ) -> None:
        owner = provider_id or "FW"
        self.rate_card_id = f"RC-{owner}-{lot_id}-{service.value}-{tier.value}"
        self.provider_id, self.lot_id, self.service, self.tier = provider_id, lot_id, service, tier
        self.hourly_rate = hourly_rate.quantize(CENT)
        self.rurality_weighting = dict(RURALITY_WEIGHTING) if weighted else {}


def framework_cards(population: Population, rng: random.Random) -> Iterator[RateCard]:
    """Yield a framework rate for every lot, service and tier, weighted by rurality."""
    for lot in population.lots:
        lot_adjustment = Decimal(rng.randint(-80, 80)) / 100
        for service, base in BASE_RATES.items():
            for tier in Tier:
                uplift = COMPLEX_UPLIFT if tier is Tier.COMPLEX else Decimal(0)
                yield RateCard(
                    None, lot.lot_id, service, tier, base + uplift + lot_adjustment, weighted=True
                )


def spot_cards(population: Population, rng: random.Random) -> Iterator[RateCard]:
    """Each off-framework provider's own rates, for the lots and services it delivers."""
    delivered = sorted(
        {(p.provider_id, p.client.lot_id, p.service, p.tier) for p in population.packages}
    )
    kinds = {p.provider_id: p.kind for p in population.providers}
    for provider_id, lot_id, service, tier in delivered:
        if kinds[provider_id] is not ProviderKind.OFF_FRAMEWORK:
            continue
        premium = Decimal(str(round(rng.uniform(0.95, 1.40), 3)))
        uplift = COMPLEX_UPLIFT if tier is Tier.COMPLEX else Decimal(0)
        yield RateCard(
            provider_id,
            lot_id,
            service,
            tier,
            (BASE_RATES[service] + uplift) * premium,
            weighted=rng.random() < 0.3,
        )


def rate_cards(population: Population, rng: random.Random) -> Iterator[RateCard]:
    """Every rate card of the run: framework first, then spot rates."""
    yield from framework_cards(population, rng)
    yield from spot_cards(population, rng)
