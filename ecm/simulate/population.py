"""The synthetic population: lots, providers, clients and their care packages.

Everything is labelled synthetic (``Synthetic Care Ltd 017``, ``C04211``); lot names
follow the council papers where they name lots and are invented elsewhere.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from ecm.contracts import ProviderKind, Rurality, Service, Tier
from ecm.simulate import config as cfg
from ecm.simulate.config import SimulationConfig
from ecm.simulate.geo import random_point_near
from ecm.simulate.patterns import CarePlan, care_plan

# (name, centre lat, centre lon, rural) - four names come from the papers.
LOT_SITES = (
    ("DGS 4", 51.44, 0.27, False),
    ("West Kent 1", 51.195, 0.275, False),
    ("West Kent 4", 51.132, 0.263, False),
    ("West Kent Rural West", 51.197, 0.065, True),
    ("DGS 1", 51.40, 0.20, False),
    ("Maidstone Town", 51.272, 0.522, False),
    ("Maidstone Rural East", 51.23, 0.70, True),
    ("Medway Fringe", 51.35, 0.55, False),
    ("Swale North", 51.34, 0.74, False),
    ("Swale Rural", 51.29, 0.85, True),
    ("Canterbury City", 51.28, 1.08, False),
    ("Canterbury Coastal", 51.36, 1.10, False),
    ("Thanet 1", 51.385, 1.38, False),
    ("Thanet 2", 51.34, 1.40, False),
    ("Dover Town", 51.13, 1.31, False),
    ("Dover Rural", 51.21, 1.25, True),
    ("Ashford Town", 51.146, 0.875, False),
    ("Ashford Rural South", 51.05, 0.80, True),
    ("Folkestone and Hythe", 51.08, 1.17, False),
    ("Romney Marsh Rural", 50.98, 0.93, True),
)
SERVICE_MIX = {
    Service.HOME_CARE: 0.80,
    Service.SUPPORTING_INDEPENDENCE: 0.07,
    Service.EXTRA_CARE: 0.07,
    Service.PRISON_CARE: 0.02,
    Service.DISCHARGE_TO_ASSESS: 0.04,
}
RURALITY_MIX = {
    False: {
        Rurality.URBAN: 0.80,
        Rurality.RURAL_TOWN_FRINGE: 0.15,
        Rurality.RURAL_VILLAGE_DISPERSED: 0.05,
    },
    True: {
        Rurality.URBAN: 0.15,
        Rurality.RURAL_TOWN_FRINGE: 0.40,
        Rurality.RURAL_VILLAGE_DISPERSED: 0.45,
    },
}


@dataclass(frozen=True)
class Lot:
    """A cluster of the county, with a centre and a radius its clients live within."""

    lot_id: str
    name: str
    centre: tuple[float, float]
    rural: bool

    @property
    def radius_m(self) -> float:
        """How far from the centre clients live: rural lots are wider."""
        return 11_000.0 if self.rural else 5_000.0


@dataclass
class Provider:
    """A homecare provider; ``quality`` (0 worst .. 1 best) drives its behaviour."""

    provider_id: str
    name: str
    kind: ProviderKind
    lot_ids: list[str]
    quality: float
    size: float


@dataclass(frozen=True)
class Client:
    """A synthetic person receiving care, known by a pseudonymous id."""

    client_id: str
    lot_id: str
    rurality: Rurality
    location: tuple[float, float]


@dataclass(frozen=True)
class Package:
    """Commissioned care for one client from one provider, with the plan that delivers it."""

    package_id: str
    client: Client
    provider_id: str
    service: Service
    tier: Tier
    plan: CarePlan
    effective_from: date
    effective_to: date | None = None


@dataclass
class Population:
    """Everything the reference data describes, built once per run."""

    lots: list[Lot]
    providers: list[Provider]
    packages: list[Package]
    holders: dict[tuple[str, ProviderKind], list[Provider]] = field(default_factory=dict)


def build_lots(config: SimulationConfig) -> list[Lot]:
    """Return the lots of the run: all twenty at full scale, fewer when scaled down."""
    count = min(len(LOT_SITES), config.scaled(cfg.LOTS))
    return [
        Lot(f"L{i + 1:02d}", n, (la, lo), r) for i, (n, la, lo, r) in enumerate(LOT_SITES[:count])
    ]


def _provider(
    rng: random.Random, number: int, local: int, kind: ProviderKind, lots: list[Lot]
) -> Provider:
    home = lots[(local - 1) % len(lots)].lot_id
    extra_share = 0.6 if kind is ProviderKind.FRAMEWORK else 0.25
    held = [home] + [
        lot.lot_id
        for lot in lots
        if lot.lot_id != home and rng.random() < extra_share / max(1, len(lots) - 1) * 2
    ]
    quality = rng.betavariate(5, 2) if kind is ProviderKind.FRAMEWORK else rng.betavariate(4, 2)
    name = f"Synthetic Care Ltd {number:03d}"
    size = rng.lognormvariate(0, 0.5) * (3.0 if kind is ProviderKind.FRAMEWORK else 1.0)
    return Provider(f"P{number:03d}", name, kind, held, quality, size)


def build_providers(config: SimulationConfig, lots: list[Lot]) -> list[Provider]:
    """Framework providers first (P001..), then off-framework ones; each lot has both kinds."""
    rng = config.rng("providers")
    framework = config.scaled(cfg.FRAMEWORK_PROVIDERS)
    off = config.scaled(cfg.OFF_FRAMEWORK_PROVIDERS)
    kinds = [ProviderKind.FRAMEWORK] * framework + [ProviderKind.OFF_FRAMEWORK] * off
    providers = []
    for number, kind in enumerate(kinds, start=1):
        local = number if kind is ProviderKind.FRAMEWORK else number - framework
        providers.append(_provider(rng, number, local, kind, lots))
    return providers


def _client(rng: random.Random, number: int, lot: Lot) -> Client:
    mix = RURALITY_MIX[lot.rural]
    rurality = rng.choices(list(mix), weights=list(mix.values()))[0]
    ring = {Rurality.URBAN: 0.5, Rurality.RURAL_TOWN_FRINGE: 0.8}.get(rurality, 1.0)
    location = random_point_near(rng, lot.centre, lot.radius_m * ring)
    return Client(f"C{number:05d}", lot.lot_id, rurality, location)


def _choose_provider(
    rng: random.Random, lot: Lot, holders: dict[tuple[str, ProviderKind], list[Provider]]
) -> Provider:
    kind = ProviderKind.FRAMEWORK if rng.random() < 0.65 else ProviderKind.OFF_FRAMEWORK
    pool = holders.get((lot.lot_id, kind)) or holders[(lot.lot_id, ProviderKind.FRAMEWORK)]
    return rng.choices(pool, weights=[p.size for p in pool])[0]


def _package(
    rng: random.Random,
    config: SimulationConfig,
    client: Client,
    provider: Provider,
    service: Service,
) -> Package:
    medication = rng.random() < 0.3
    plan = care_plan(rng, service, medication)
    complex_share = 0.6 if service is Service.SUPPORTING_INDEPENDENCE else 0.15
    tier = Tier.COMPLEX if rng.random() < complex_share else Tier.STANDARD
    return Package(
        f"PK{client.client_id[1:]}", client, provider.provider_id, service, tier, plan, config.start
    )


def build_packages(
    config: SimulationConfig,
    lots: list[Lot],
    holders: dict[tuple[str, ProviderKind], list[Provider]],
) -> list[Package]:
    """One package per client: adults across five services, then disabled children."""
    rng = config.rng("clients")
    adults, children = config.scaled(cfg.ADULTS), config.scaled(cfg.CHILDREN)
    services = list(SERVICE_MIX)
    packages = []
    for number in range(1, adults + children + 1):
        lot = lots[rng.randrange(len(lots))]
        client = _client(rng, number, lot)
        service = (
            Service.DISABLED_CHILDREN
            if number > adults
            else rng.choices(services, weights=list(SERVICE_MIX.values()))[0]
        )
        provider = _choose_provider(rng, lot, holders)
        packages.append(_package(rng, config, client, provider, service))
    return packages


def build_population(config: SimulationConfig) -> Population:
    """Build the lots, providers and packages of a run, deterministically from its seed."""
    lots = build_lots(config)
    providers = build_providers(config, lots)
    holders: dict[tuple[str, ProviderKind], list[Provider]] = {}
    for provider in providers:
        for lot_id in provider.lot_ids:
            holders.setdefault((lot_id, provider.kind), []).append(provider)
    packages = build_packages(config, lots, holders)
    return Population(lots, providers, packages, holders)
