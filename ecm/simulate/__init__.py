"""``ecm simulate``: seeded, deterministic synthetic data at Kent scale, in contract v1.

Everything generated is synthetic: providers are ``Synthetic Care Ltd NNN``, clients
and carers are ids only, locations are random points near a lot's centre.
"""

from ecm.simulate.config import SimulationConfig
from ecm.simulate.stream import Line, simulate
from ecm.simulate.summary import Summary

__all__ = ["Line", "SimulationConfig", "Summary", "simulate"]
