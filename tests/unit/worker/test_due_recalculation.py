"""The sink's own recalculation: checked now and then, never twice at once, stoppable."""

from __future__ import annotations

import asyncio
import time

from ecm import metrics
from ecm.settings import RecalcSettings
from streams.recalculation import DueRecalculation


class Counted(DueRecalculation):
    """Always finds changes settled; its child is replaced by a wait it controls."""

    def __init__(self, check_seconds: float, fail: bool = False) -> None:
        super().__init__("unused", RecalcSettings(check_seconds=check_seconds))
        self.checks, self.fail = 0, fail
        self.release = asyncio.Event()

    def _due_settled(self) -> bool:
        return True

    async def _record_in_child(self) -> dict[str, object] | None:
        self.checks += 1
        await self.release.wait()
        if self.fail:
            raise RuntimeError("the recalculation's process exited 1: boom")
        return {"recalculation_id": "recalc-1", "visits_changed": 2, "visits_judged": 5}


def test_a_caught_up_sink_starts_one_check_and_none_while_it_runs_or_too_soon() -> None:
    async def run() -> int:
        due = Counted(check_seconds=3600)
        due.caught_up()
        await asyncio.sleep(0.05)
        due.caught_up()  # running: not a second one
        due.release.set()
        await asyncio.sleep(0.05)
        due.caught_up()  # finished, but within check_seconds
        await asyncio.sleep(0.05)
        return due.checks

    assert asyncio.run(run()) == 1


def test_stopping_ends_a_check_in_progress_at_once() -> None:
    async def run() -> float:
        due = Counted(check_seconds=3600)
        due.caught_up()
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await due.stop()  # the child is still "working": never released
        return time.monotonic() - started

    assert asyncio.run(run()) < 1


def test_a_failed_check_is_counted_and_the_next_waits_longer() -> None:
    before = metrics.RECALCULATIONS_FAILED._value.get()

    async def run() -> tuple[int, float]:
        due = Counted(check_seconds=10, fail=True)
        due.release.set()
        due.caught_up()
        await asyncio.sleep(0.05)
        return due.checks, due._next_check - time.monotonic()

    checks, wait = asyncio.run(run())
    assert checks == 1 and 15 < wait <= 20  # twice check_seconds after one failure
    assert metrics.RECALCULATIONS_FAILED._value.get() == before + 1


def test_the_child_process_that_cannot_reach_the_database_is_a_failure() -> None:
    before = metrics.RECALCULATIONS_FAILED._value.get()

    async def run() -> None:
        due = DueRecalculation("postgresql://nobody@127.0.0.1:1/none",
                               RecalcSettings(check_seconds=1))
        due._due_settled = lambda: True  # type: ignore[method-assign]
        due.caught_up()
        assert due._task is not None
        await due._task

    asyncio.run(run())
    assert metrics.RECALCULATIONS_FAILED._value.get() == before + 1
