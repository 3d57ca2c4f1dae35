"""A sink stopped mid-write leaves its group only once the write's transaction has ended."""

from __future__ import annotations

import asyncio
import threading

import pytest

from streams.sink import DatabaseWriter


class SlowWriter(DatabaseWriter):
    """Writes in a thread that takes a while, and says when it has finished."""

    def __init__(self) -> None:
        super().__init__("unused")
        self.started, self.release = threading.Event(), threading.Event()
        self.finished = False

    def write(self, events, learned_at=None) -> None:  # type: ignore[no-untyped-def]
        self.started.set()
        self.release.wait(timeout=10)
        self.finished = True


def test_a_cancelled_write_returns_only_after_its_thread_has_finished() -> None:
    writer = SlowWriter()

    async def stop_mid_write() -> None:
        task = asyncio.create_task(writer.write_until_done([]))
        await asyncio.to_thread(writer.started.wait, 10)
        task.cancel()  # SIGTERM while the batch is being written
        await asyncio.sleep(0.05)
        assert not task.done(), "cancelled before the thread's transaction ended"
        writer.release.set()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(stop_mid_write())
    assert writer.finished
