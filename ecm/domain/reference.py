"""Reference data versioned in time: clients, carers, providers, packages, rates, rules.

Also the council's code lists and the periods its alerts are monitor-only.

Every record applies from a local day (``effective_from``) to an optional last day
(``effective_to``, inclusive). A later record for the same id supersedes an earlier one
from its own date without rewriting the past. Records may arrive in any order: they
are resolved only when a visit is judged, by the visit's local day.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, Protocol, TypeVar

from ecm.domain.geo import distance_m
from ecm.domain.rules import Policy, RuleBook, RuleChange
from ecm.domain.workflow import CodeList


@dataclass(frozen=True, slots=True)
class Validity:
    """When a record applies (local days, inclusive) and how it is ordered among versions."""

    effective_from: date
    effective_to: date | None = None
    recorded_at: datetime | None = None
    event_id: str = ""

    def covers(self, day: date) -> bool:
        """Return whether the record applies on local ``day``."""
        to = self.effective_to
        return self.effective_from <= day and (to is None or day <= to)

    def order_key(self) -> tuple[date, str, str]:
        """Return the sort key: latest effective date, then later record, then event id."""
        recorded = self.recorded_at.isoformat() if self.recorded_at else ""
        return (self.effective_from, recorded, self.event_id)


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A client: the lot they live in, their rurality class and registered location."""

    valid: Validity
    client_id: str
    lot_id: str
    rurality: str
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class CarerRecord:
    """A care worker and the provider employing them."""

    valid: Validity
    carer_id: str
    provider_id: str


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    """A provider: ``framework`` or ``off_framework``, and the lots it holds."""

    valid: Validity
    provider_id: str
    kind: str
    lot_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PackageRecord:
    """A care package: weekly hours commissioned for one client from one provider."""

    valid: Validity
    package_id: str
    client_id: str
    provider_id: str
    lot_id: str
    service: str
    tier: str
    weekly_hours: Decimal


@dataclass(frozen=True, slots=True)
class RateCard:
    """An hourly rate for a lot, service and tier; ``provider_id`` set for a provider's own card.

    ``call_length_factors`` are ``(up_to_minutes, factor)`` pairs, ascending.
    """

    valid: Validity
    rate_card_id: str
    provider_id: str | None
    lot_id: str
    service: str
    tier: str
    hourly_rate: Decimal
    rurality_weighting: Mapping[str, Decimal] = field(default_factory=dict)
    call_length_factors: tuple[tuple[int, Decimal], ...] = (
        (30, Decimal("0.60")),
        (45, Decimal("0.80")),
    )


@dataclass(frozen=True, slots=True)
class PublishedCodes:
    """A code list as published: the whole list applies from its ``effective_from``."""

    valid: Validity
    codes: CodeList


@dataclass(frozen=True, slots=True)
class MonitoringPeriod:
    """Alerts of a client and/or a service are monitor-only from ``starts`` until ``until``.

    A later record with the same ``monitoring_id`` (by record time, then event id)
    replaces the period.
    """

    monitoring_id: str
    client_id: str | None
    service: str | None
    starts: datetime
    until: datetime
    set_by: str
    reason: str
    recorded_at: datetime
    event_id: str

    def covers(self, client_id: str, service: str | None, at: datetime) -> bool:
        """Whether an alert of ``client_id`` and ``service`` due at ``at`` is monitor-only."""
        if not self.starts <= at < self.until:
            return False
        return ((self.client_id is None or self.client_id == client_id)
                and (self.service is None or self.service == service))


class _Versioned(Protocol):
    @property
    def valid(self) -> Validity: ...


R = TypeVar("R", bound=_Versioned)


class Versions(Generic[R]):
    """The versions of records of one kind, by id; a redelivered event id changes nothing.

    Each id's versions are also kept latest first (by ``Validity.order_key``), so a
    lookup is one dict access and a short scan of that id's versions.
    """

    def __init__(self) -> None:
        self._by_id: dict[str, dict[str, R]] = {}
        self._latest_first: dict[str, list[R]] = {}

    def add(self, record_id: str, record: R) -> None:
        """Add one version of the record ``record_id``."""
        versions = self._by_id.setdefault(record_id, {})
        versions[record.valid.event_id] = record
        # Stable sort of the insertion order: equal keys keep the first-added first,
        # as the pairwise "strictly later wins" scan of ``_latest`` does.
        self._latest_first[record_id] = sorted(
            versions.values(), key=lambda r: r.valid.order_key(), reverse=True
        )

    def at(self, record_id: str, day: date) -> R | None:
        """Return the version of ``record_id`` in force on ``day``, if any."""
        for record in self._latest_first.get(record_id, ()):
            if record.valid.covers(day):
                return record
        return None

    def versions(self, record_id: str) -> Iterator[R]:
        """Yield every version of one record, in the order they were added."""
        yield from self._by_id.get(record_id, {}).values()

    def all(self) -> Iterator[R]:
        """Yield every version of every record."""
        for versions in self._by_id.values():
            yield from versions.values()

    def ids(self) -> Iterator[str]:
        """Yield every record id."""
        yield from self._by_id


def _latest(records: Iterator[R]) -> R | None:
    best: R | None = None
    for record in records:
        if best is None or record.valid.order_key() > best.valid.order_key():
            best = record
    return best


class ReferenceData:
    """Everything a visit is judged against, resolved lazily by the visit's local day."""

    def __init__(self) -> None:
        self.clients: Versions[ClientRecord] = Versions()
        self.carers: Versions[CarerRecord] = Versions()
        self.providers: Versions[ProviderRecord] = Versions()
        self.packages: Versions[PackageRecord] = Versions()
        self.rate_cards: Versions[RateCard] = Versions()
        self.rules = RuleBook()
        self.code_lists: dict[str, PublishedCodes] = {}
        self.monitoring: dict[str, MonitoringPeriod] = {}
        self._cards: dict[tuple[str, str, str, str, date], RateCard | None] = {}
        """The card resolved per (provider, lot, service, tier, day): emptied when a card
        arrives, and only then (nothing else changes which card pays)."""
        self._packages_by_pair: dict[tuple[str, str], set[str]] = {}
        self._cards_by_scope: dict[tuple[str, str, str, str | None], set[str]] = {}
        """Card ids per (lot, service, tier, provider or ``None`` for the framework's)."""

    def add(self, record: ClientRecord | CarerRecord | ProviderRecord | PackageRecord
            | RateCard | RuleChange | PublishedCodes | MonitoringPeriod) -> None:
        """Record one reference fact (any arrival order gives the same resolutions)."""
        if isinstance(record, PublishedCodes):
            self.code_lists[record.valid.event_id] = record
        elif isinstance(record, MonitoringPeriod):
            held = self.monitoring.get(record.monitoring_id)
            if held is None or (record.recorded_at, record.event_id) > (held.recorded_at,
                                                                        held.event_id):
                self.monitoring[record.monitoring_id] = record
        elif isinstance(record, ClientRecord):
            self.clients.add(record.client_id, record)
        elif isinstance(record, CarerRecord):
            self.carers.add(record.carer_id, record)
        elif isinstance(record, ProviderRecord):
            self.providers.add(record.provider_id, record)
        elif isinstance(record, PackageRecord):
            self.packages.add(record.package_id, record)
            pair = (record.client_id, record.provider_id)
            self._packages_by_pair.setdefault(pair, set()).add(record.package_id)
        elif isinstance(record, RateCard):
            self.rate_cards.add(record.rate_card_id, record)
            scope = (record.lot_id, record.service, record.tier, record.provider_id)
            self._cards_by_scope.setdefault(scope, set()).add(record.rate_card_id)
            self._cards.clear()
        else:
            self.rules.add(record)

    def codes(self, day: date) -> CodeList | None:
        """The council's code list in force on local ``day``: the latest effective one."""
        best: PublishedCodes | None = None
        for published in self.code_lists.values():
            if published.valid.effective_from <= day and (
                    best is None or published.valid.order_key() > best.valid.order_key()):
                best = published
        if best is None or not best.valid.covers(day):
            return None
        return best.codes

    def monitored(self, client_id: str, service: str | None, at: datetime
                  ) -> MonitoringPeriod | None:
        """The monitor-only period covering an alert of that client and service due at ``at``."""
        for monitoring_id in sorted(self.monitoring):
            period = self.monitoring[monitoring_id]
            if period.covers(client_id, service, at):
                return period
        return None

    def client(self, client_id: str, day: date) -> ClientRecord | None:
        """Return the client's record in force on ``day``."""
        return self.clients.at(client_id, day)

    def carer(self, carer_id: str, day: date) -> CarerRecord | None:
        """Return the carer's record in force on ``day``."""
        return self.carers.at(carer_id, day)

    def distance_from_client(
        self, client_id: str, day: date, lat: float, lon: float
    ) -> int | None:
        """Metres from the client's registered location on ``day`` to a point, if known.

        This is where a carer's coordinates meet the client's location and become a
        distance: nothing downstream ever sees the coordinates (docs/data-protection.md).
        """
        client = self.clients.at(client_id, day)
        if client is None or client.lat is None or client.lon is None:
            return None
        return distance_m(lat, lon, client.lat, client.lon)

    def package(self, package_id: str, day: date) -> PackageRecord | None:
        """Return the package's version in force on ``day``."""
        return self.packages.at(package_id, day)

    def package_ids_for(self, client_id: str, provider_id: str) -> list[str]:
        """Return, sorted, the ids of packages with any version for this client and provider.

        A superset of the packages in force for the pair on a given day: resolve each
        with ``package`` and check the pair again.
        """
        return sorted(self._packages_by_pair.get((client_id, provider_id), ()))

    def policy(self, lot_id: str | None, service: str | None, day: date) -> Policy:
        """Return the contract rules in force on ``day`` for a lot and service."""
        return self.rules.resolve(lot_id, service, day)

    def rate_card(
        self, provider_id: str, lot_id: str, service: str, tier: str, day: date
    ) -> RateCard | None:
        """Return the rate card for a visit: the provider's own card wins over the framework's.

        Only cards in force on ``day`` for the lot, service and tier are considered; among
        several, the latest effective one wins.
        """
        key = (provider_id, lot_id, service, tier, day)
        if key not in self._cards:
            self._cards[key] = self._find_rate_card(*key)
        return self._cards[key]

    def _find_rate_card(
        self, provider_id: str, lot_id: str, service: str, tier: str, day: date
    ) -> RateCard | None:
        return (self._latest_card((lot_id, service, tier, provider_id), day)
                or self._latest_card((lot_id, service, tier, None), day))

    def _latest_card(self, scope: tuple[str, str, str, str | None], day: date
                     ) -> RateCard | None:
        """The latest effective card of ``scope`` in force on ``day`` (any version of any id)."""
        return _latest(
            card for i in sorted(self._cards_by_scope.get(scope, ()))
            for card in self.rate_cards.versions(i)
            if (card.lot_id, card.service, card.tier, card.provider_id) == scope
            and card.valid.covers(day)
        )
