"""The sink's own recalculation: checked at most every so often, never twice at once."""

from __future__ import annotations

import asyncio
import threading

from ecm.settings import RecalcSettings
from streams.sink import DueRecalculation


class Counted(DueRecalculation):
    """Counts its checks; each one waits until released, then records or fails."""

    def __init__(self, check_seconds: float, fail: bool = False) -> None:
        super().__init__("unused", RecalcSettings(check_seconds=check_seconds))
        self.checks, self.release, self.fail = 0, threading.Event(), fail

    def _record_when_settled(self) -> tuple[str, int, int] | None:
        self.checks += 1
        self.release.wait(timeout=10)
        if self.fail:
            raise ValueError("a defect")
        return ("recalc-1", 2, 5)


def test_a_caught_up_sink_starts_one_check_and_none_while_it_runs_or_too_soon() -> None:
    async def run() -> int:
        due = Counted(check_seconds=3600)
        due.caught_up()
        await asyncio.sleep(0.05)
        due.caught_up()  # running: not a second one
        due.release.set()
        await due.stop()
        due.caught_up()  # finished, but within check_seconds
        await due.stop()
        return due.checks

    assert asyncio.run(run()) == 1


def test_after_check_seconds_it_checks_again_and_a_failure_does_not_stop_it() -> None:
    async def run() -> int:
        due = Counted(check_seconds=0.01, fail=True)
        due.release.set()
        for _ in range(3):
            due.caught_up()
            await due.stop()
            await asyncio.sleep(0.02)
        return due.checks

    assert asyncio.run(run()) == 3
