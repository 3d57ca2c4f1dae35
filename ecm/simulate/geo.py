"""Plausible Kent geography: lot centres, client homes, GPS drift and travel times."""

from __future__ import annotations

import math
import random

KENT_BBOX = (50.91, 0.03, 51.48, 1.45)
"""(south, west, north, east) in WGS84 degrees: every generated point lies inside."""

EARTH_RADIUS_M = 6_371_000.0
ROAD_FACTOR = 1.35
"""Roads are longer than the straight line between two homes."""


def clamp_to_kent(lat: float, lon: float) -> tuple[float, float]:
    """Pull a point back inside the Kent bounding box."""
    south, west, north, east = KENT_BBOX
    return min(max(lat, south), north), min(max(lon, west), east)


def offset(lat: float, lon: float, metres: float, bearing_deg: float) -> tuple[float, float]:
    """Return the point ``metres`` from (lat, lon) on a bearing (flat-earth approximation)."""
    bearing = math.radians(bearing_deg)
    dlat = metres * math.cos(bearing) / EARTH_RADIUS_M
    dlon = metres * math.sin(bearing) / (EARTH_RADIUS_M * math.cos(math.radians(lat)))
    return lat + math.degrees(dlat), lon + math.degrees(dlon)


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance between two (lat, lon) points, in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def random_point_near(
    rng: random.Random, centre: tuple[float, float], radius_m: float
) -> tuple[float, float]:
    """Return a random point within ``radius_m`` of ``centre`` (denser near the centre), in Kent."""
    lat, lon = offset(*centre, rng.uniform(0, 1) ** 0.8 * radius_m, rng.uniform(0, 360))
    return clamp_to_kent(lat, lon)


def travel_minutes(a: tuple[float, float], b: tuple[float, float], rural: bool) -> int:
    """Driving time between two homes: road distance at a local average speed, plus parking."""
    km = distance_m(a, b) * ROAD_FACTOR / 1000
    speed_kmh = 40.0 if rural else 22.0
    return 3 + math.ceil(km / speed_kmh * 60)
