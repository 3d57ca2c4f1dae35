"""Reference data events of a run: lots, providers, clients, carers, packages, rates, codes."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from ecm.contracts import (
    CarePackageAgreed,
    CarerRegistered,
    ClientRegistered,
    ContractRules,
    ContractRulesSet,
    Location,
    LotDefined,
    ProviderRegistered,
    RateCardPublished,
    ReasonCodesPublished,
    ReferenceEvent,
    Service,
    parse_event,
)
from ecm.simulate.episodes import is_short_term
from ecm.simulate.population import Package, Population
from ecm.simulate.ratecards import rate_cards
from ecm.simulate.rota import Rota


def _default_codes_file() -> Path:
    # The repository's docs/ (a source checkout), else ./docs (the container's /app/docs).
    beside = Path(__file__).resolve().parents[2] / "docs" / "reason-codes.json"
    return beside if beside.exists() else Path.cwd() / "docs" / "reason-codes.json"


DEFAULT_REASON_CODES = _default_codes_file()
"""The product's default list of reason, resolution, alert outcome and frustration codes."""


def default_reason_codes(path: Path = DEFAULT_REASON_CODES) -> ReasonCodesPublished:
    """The default code list (docs/reason-codes.json), exactly as a council would load it.

    Raises:
        ContractError: the file is not a valid ``reason_codes_published`` event.
        TypeError: the file holds another kind of event.

    """
    event = parse_event(path.read_bytes())
    if not isinstance(event, ReasonCodesPublished):
        raise TypeError(f"{path}: a {event.event_type}, not a reason_codes_published")
    return event


def _msoas(number: int) -> tuple[str, ...]:
    # Synthetic MSOA-style codes (E02 + 6 digits); not real areas.
    return tuple(f"E02{900000 + number * 10 + i:06d}" for i in range(5))


def lots_and_providers(
    population: Population, at: datetime, start: date
) -> Iterator[ReferenceEvent]:
    """Every lot, then every provider with the lots it holds, effective from ``start``."""
    for number, lot in enumerate(population.lots, start=1):
        yield LotDefined(
            event_id=f"sim.lot.{lot.lot_id}",
            occurred_at=at,
            lot_id=lot.lot_id,
            name=lot.name,
            msoa_codes=_msoas(number),
            effective_from=start,
        )
    for p in population.providers:
        yield ProviderRegistered(
            event_id=f"sim.provider.{p.provider_id}",
            occurred_at=at,
            provider_id=p.provider_id,
            name=p.name,
            kind=p.kind,
            lot_ids=tuple(p.lot_ids),
            effective_from=start,
        )


def clients(population: Population, at: datetime) -> Iterator[ClientRegistered]:
    """Every client with lot, rurality class and registered location."""
    for package in population.packages:
        c = package.client
        yield ClientRegistered(
            event_id=f"sim.client.{c.client_id}",
            occurred_at=at,
            client_id=c.client_id,
            lot_id=c.lot_id,
            rurality=c.rurality,
            effective_from=package.effective_from,
            location=Location(lat=round(c.location[0], 6), lon=round(c.location[1], 6)),
        )


def carers(rota: Rota, at: datetime, start: date) -> Iterator[CarerRegistered]:
    """Every carer, regular and relief, of every team, effective from ``start``."""
    for team in rota.teams:
        for carer_id in team.regular + team.relief:
            yield CarerRegistered(
                event_id=f"sim.carer.{carer_id}",
                occurred_at=at,
                provider_id=team.provider_id,
                carer_id=carer_id,
                effective_from=start,
            )


def package_agreed(package: Package, at: datetime) -> CarePackageAgreed:
    """Build the commissioned weekly hours of one package (or D2A episode)."""
    return CarePackageAgreed(
        event_id=f"sim.package.{package.package_id}",
        occurred_at=at,
        package_id=package.package_id,
        client_id=package.client.client_id,
        provider_id=package.provider_id,
        lot_id=package.client.lot_id,
        service=package.service,
        tier=package.tier,
        weekly_hours=package.plan.weekly_hours,
        effective_from=package.effective_from,
        effective_to=package.effective_to,
    )


def rates_and_rules(
    population: Population, rng: random.Random, at: datetime, start: date
) -> Iterator[ReferenceEvent]:
    """Every rate card, then one rules override (a tighter D2A not-arrived alert)."""
    for card in rate_cards(population, rng):
        yield RateCardPublished(
            event_id=f"sim.{card.rate_card_id}",
            occurred_at=at,
            rate_card_id=card.rate_card_id,
            provider_id=card.provider_id,
            lot_id=card.lot_id,
            service=card.service,
            tier=card.tier,
            hourly_rate=card.hourly_rate,
            rurality_weighting=card.rurality_weighting,
            effective_from=start,
        )
    yield ContractRulesSet(
        event_id="sim.rules.d2a",
        occurred_at=at,
        rules_id="R-D2A",
        service=Service.DISCHARGE_TO_ASSESS,
        effective_from=start,
        rules=ContractRules(not_arrived_after_minutes=20),
    )


def reference_events(
    population: Population, rota: Rota, rng: random.Random, at: datetime, start: date
) -> Iterator[ReferenceEvent]:
    """All reference data, published at ``at`` and effective from ``start``.

    D2A episodes are not here: each is agreed the day before it starts. The default code
    list goes as the file has it (its own id and dates), so loading the same file again
    with ``ecm codes load`` changes nothing.
    """
    yield from lots_and_providers(population, at, start)
    yield from clients(population, at)
    yield from carers(rota, at, start)
    for package in population.packages:
        if not is_short_term(package):
            yield package_agreed(package, at)
    yield from rates_and_rules(population, rng, at, start)
    yield default_reason_codes()
