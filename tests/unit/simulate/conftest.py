from __future__ import annotations

from ecm.simulate import Line, SimulationConfig, Summary, simulate


def run_lines(config: SimulationConfig) -> tuple[list[Line], Summary]:
    summary = Summary()
    return list(simulate(config, summary)), summary


def run_bytes(config: SimulationConfig) -> bytes:
    return b"".join(line.payload + b"\n" for line in simulate(config))
