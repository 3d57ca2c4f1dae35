"""Travel time between two clients' registered homes, estimated by the contract's rules.

No routing service: the straight-line (great-circle) distance × a road factor, driven at
an average speed by the rurality class of each end (half the road distance at each
end's speed), plus a fixed overhead for parking and reaching the door. Every number is
a rule of the ``Policy`` in force for the lot (docs/rules.md, "Travel between visits").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ecm.domain.geo import distance_m
from ecm.domain.reference import ClientRecord, ReferenceData
from ecm.domain.rules import Policy

RURALITY_SPEED_RULES = {
    "urban": "travel_speed_kmh_urban",
    "rural_town_fringe": "travel_speed_kmh_rural_town_fringe",
    "rural_village_dispersed": "travel_speed_kmh_rural_village_dispersed",
}
"""The policy field giving the average speed for each rurality class of a home."""


@dataclass(frozen=True, slots=True)
class Place:
    """A client's registered home: where it is (WGS84) and its ONS rurality class."""

    lat: float
    lon: float
    rurality: str


@dataclass(frozen=True, slots=True)
class Travel:
    """An estimated journey between two homes.

    ``straight_m`` is the great-circle distance, ``road_m`` the road distance estimated
    from it, ``seconds`` the whole journey (driving and overhead), rounded up.
    """

    straight_m: int
    road_m: int
    seconds: int


def speed_kmh(policy: Policy, rurality: str) -> int:
    """The average speed the policy allows for a home of this rurality class.

    Raises:
        ValueError: ``rurality`` is not a class the rules know (names the class).
    """
    rule = RURALITY_SPEED_RULES.get(rurality)
    if rule is None:
        raise ValueError(f"rurality: {rurality!r} is not one of "
                         f"{', '.join(sorted(RURALITY_SPEED_RULES))}")
    speed: int = getattr(policy, rule)
    return speed


def travel_between(origin: Place, destination: Place, policy: Policy) -> Travel:
    """Estimate the journey from one home to another under ``policy``.

    Guarantees: two homes at the same registered point need no travel (0 seconds);
    otherwise the journey takes at least the overhead; the estimate is exact integer
    arithmetic rounded up once, so it is the same on every machine.
    """
    straight = distance_m(origin.lat, origin.lon, destination.lat, destination.lon)
    if straight == 0:
        return Travel(0, 0, 0)
    num, den = policy.travel_road_factor.as_integer_ratio()
    v1, v2 = speed_kmh(policy, origin.rurality), speed_kmh(policy, destination.rurality)
    # Half the road at each end's speed: road/2 × (3.6/v1 + 3.6/v2) seconds, v in km/h,
    # i.e. straight × num/den × 9 × (v1 + v2) / (5 × v1 × v2), in integers, rounded up.
    driving = _ceil_div(straight * num * 9 * (v1 + v2), den * 5 * v1 * v2)
    seconds = driving + 60 * policy.travel_overhead_minutes
    return Travel(straight, _ceil_div(straight * num, den), seconds)


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def place_of(client: ClientRecord | None) -> Place | None:
    """A client's registered home, or ``None`` if the client or its location is unknown."""
    if client is None or client.lat is None or client.lon is None:
        return None
    return Place(client.lat, client.lon, client.rurality)


def client_travel(
    reference: ReferenceData, from_client: str, to_client: str, day: date, policy: Policy
) -> Travel | None:
    """The journey between two clients' homes as registered on local ``day``.

    Returns ``None`` when either home is not known (no registration, or no location):
    travel is then not estimated, never guessed.
    """
    origin = place_of(reference.client(from_client, day))
    destination = place_of(reference.client(to_client, day))
    if origin is None or destination is None:
        return None
    if from_client == to_client:
        return Travel(0, 0, 0)
    return travel_between(origin, destination, policy)
