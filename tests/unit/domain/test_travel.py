"""The travel model: straight line × road factor, at the speed of each end's rurality class."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ecm.domain.reference import ClientRecord, ReferenceData, Validity
from ecm.domain.rules import DEFAULT_POLICY, Policy
from ecm.domain.travel import Place, Travel, client_travel, speed_kmh, travel_between

# 0.01 degree of latitude is 1112 m on the mean-radius Earth.
HOME = Place(51.0, 1.0, "urban")


def _north(metres_in_hundredths: float, rurality: str) -> Place:
    return Place(51.0 + metres_in_hundredths, 1.0, rurality)


@pytest.mark.parametrize(
    ("destination", "policy", "expected"),
    [
        # urban to urban, 1112 m: ×1.3 = 1446 m at 24 km/h = 217 s, + 2 min.
        (_north(0.01, "urban"), DEFAULT_POLICY, Travel(1112, 1446, 337)),
        # urban to village: half the road at 24 km/h, half at 48: 163 s + 120.
        (_north(0.01, "rural_village_dispersed"), DEFAULT_POLICY, Travel(1112, 1446, 283)),
        # 40 km/h at both ends, 11.1 km: 14456 m take 1302 s, + 120.
        (_north(0.1, "urban"), replace(DEFAULT_POLICY, travel_speed_kmh_urban=40),
         Travel(11120, 14456, 1422)),
        # the road factor and overhead are the lot's rules.
        (_north(0.01, "urban"),
         replace(DEFAULT_POLICY, travel_road_factor=Decimal("1.5"), travel_overhead_minutes=0),
         Travel(1112, 1668, 251)),
        # the same registered point: no travel at all, not even the overhead.
        (HOME, DEFAULT_POLICY, Travel(0, 0, 0)),
    ],
)
def test_travel_between_two_homes_is_estimated_from_the_contract_rules(
    destination: Place, policy: Policy, expected: Travel
) -> None:
    assert travel_between(HOME, destination, policy) == expected


def test_travel_is_the_same_both_ways() -> None:
    village = _north(0.03, "rural_village_dispersed")

    assert travel_between(HOME, village, DEFAULT_POLICY) == travel_between(village, HOME,
                                                                           DEFAULT_POLICY)


@pytest.mark.parametrize(
    ("rurality", "kmh"),
    [("urban", 24), ("rural_town_fringe", 40), ("rural_village_dispersed", 48)],
)
def test_each_rurality_class_has_its_default_speed(rurality: str, kmh: int) -> None:
    assert speed_kmh(DEFAULT_POLICY, rurality) == kmh


def test_an_unknown_rurality_class_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="rurality: 'suburban'"):
        travel_between(HOME, Place(51.01, 1.0, "suburban"), DEFAULT_POLICY)


def _reference(*clients: ClientRecord) -> ReferenceData:
    reference = ReferenceData()
    for client in clients:
        reference.add(client)
    return reference


VALID = Validity(date(2026, 1, 1))


def test_travel_between_clients_uses_their_registered_homes_on_the_day() -> None:
    reference = _reference(ClientRecord(VALID, "C1", "L1", "urban", 51.0, 1.0),
                           ClientRecord(VALID, "C2", "L1", "urban", 51.01, 1.0))

    found = client_travel(reference, "C1", "C2", date(2026, 11, 17), DEFAULT_POLICY)

    assert found == Travel(1112, 1446, 337)


@pytest.mark.parametrize(
    "clients",
    [
        (ClientRecord(VALID, "C1", "L1", "urban", 51.0, 1.0),),  # C2 not registered
        (ClientRecord(VALID, "C1", "L1", "urban", 51.0, 1.0),
         ClientRecord(VALID, "C2", "L1", "urban")),  # C2 has no location
    ],
)
def test_travel_is_not_guessed_when_a_home_is_unknown(clients: tuple[ClientRecord, ...]) -> None:
    reference = _reference(*clients)

    assert client_travel(reference, "C1", "C2", date(2026, 11, 17), DEFAULT_POLICY) is None
