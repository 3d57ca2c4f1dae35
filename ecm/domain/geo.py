"""Distances between points on the Earth; only the distance is ever kept."""

from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), in metres."""


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> int:
    """Return the great-circle (haversine) distance between two WGS84 points.

    Returns:
        Whole metres, rounded to the nearest metre.

    """
    phi1, phi2 = radians(lat1), radians(lat2)
    dphi, dlmb = phi2 - phi1, radians(lon2 - lon1)
    h = sin(dphi / 2) ** 2 + cos(phi1) * cos(phi2) * sin(dlmb / 2) ** 2
    return round(2 * EARTH_RADIUS_M * asin(min(1.0, sqrt(h))))
