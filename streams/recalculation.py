"""The sink's own recalculation of a rule or rate published for the past.

A contract rule or rate card stored with an effective date in the past is noted due in
the database (docs/rules.md, "Recalculation"). Whenever the database sink has caught up,
at most every ``check_seconds``, ``DueRecalculation`` looks for changes due that have
settled; if there are, it judges the visits since the earliest again and records the
difference (``ecm.recalc.store.recalculate_due``), applying nothing.

The judging runs in a child process (``python -m streams.recalculation``, told what to
do on its standard input, so the database URL is never on a command line): a month of
visits judged again holds up, through the GIL, neither the sink nor the visit agents of
the worker it runs in, and a sink told to stop ends the child at once (its record is one
transaction: not written, the changes stay due for the next check). Several sinks may
run: an advisory lock lets one record, the others find nothing due.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from datetime import UTC, datetime

import psycopg

from ecm import metrics
from ecm.recalc import store
from ecm.settings import RecalcSettings

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600.0
"""After failures the checks space out, doubling up to this."""


class DueRecalculation:
    """Records a recalculation of the changes due, in a child process, now and then."""

    def __init__(self, dsn: str, settings: RecalcSettings) -> None:
        self._dsn = dsn
        self._settings = settings
        self._task: asyncio.Task[None] | None = None
        self._next_check = 0.0
        self._failures = 0

    def caught_up(self) -> None:
        """Start a check in the background unless one runs or the last was too recent."""
        now = time.monotonic()
        if (self._task is not None and not self._task.done()) or now < self._next_check:
            return
        self._next_check = now + self._settings.check_seconds
        self._task = asyncio.create_task(self._check())

    async def stop(self) -> None:
        """End a check in progress (and its child): it records nothing, the changes stay due."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _check(self) -> None:
        try:
            settled = await asyncio.to_thread(self._due_settled)
            done = await self._record_in_child() if settled else None
        except (psycopg.Error, OSError, RuntimeError) as exc:
            self._failed(str(exc))
            return
        except Exception as exc:  # a defect: say so, keep the sink writing, try again later
            log.exception("automatic recalculation failed")
            self._failed(repr(exc))
            return
        self._failures = 0
        if done is not None:
            metrics.RECALCULATIONS_RECORDED.inc()
            log.warning("recorded %s: %d of %d visits change; see `ecm recalc show %s`",
                        done["recalculation_id"], done["visits_changed"],
                        done["visits_judged"], done["recalculation_id"])

    def _due_settled(self) -> bool:
        """Changes due have settled, and no sink is recalculating them already."""
        with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as conn:
            return (store.due_settled(conn, self._settings.settle_seconds)
                    and not store.automatic_running(conn))

    async def _record_in_child(self) -> dict[str, object] | None:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "streams.recalculation", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        order = json.dumps({"dsn": self._dsn, "by": self._settings.by,
                            "settle_seconds": self._settings.settle_seconds}).encode()
        try:
            out, err = await child.communicate(order)
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
            raise
        if child.returncode != 0:
            last = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise RuntimeError(f"the recalculation's process exited {child.returncode}: "
                               f"{last[0]}")
        lines = out.decode(errors="replace").strip().splitlines()
        try:  # the answer is the last line (anything printed before it is not ours)
            answer: dict[str, object] | None = json.loads(lines[-1]) if lines else None
        except ValueError:
            raise RuntimeError(f"the recalculation's process answered {lines[-1]!r}") from None
        return answer

    def _failed(self, why: str) -> None:
        self._failures += 1
        wait = min(self._settings.check_seconds * 2 ** self._failures, MAX_BACKOFF_SECONDS)
        self._next_check = time.monotonic() + wait
        metrics.RECALCULATIONS_FAILED.inc()
        log.error("automatic recalculation failed (%s); trying again in %.0f s", why, wait)


def record_due(dsn: str, by: str, settle_seconds: float) -> dict[str, object] | None:
    """Record a recalculation of the changes due, if settled; what it found, or ``None``."""
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        done = store.recalculate_due(conn, datetime.now(UTC), by=by,
                                     settle_seconds=settle_seconds)
    if done is None:
        return None
    recalculation_id, diff = done
    return {"recalculation_id": recalculation_id, "visits_changed": len(diff.visits),
            "visits_judged": diff.visits_judged}


def main() -> None:
    """The child: read the order on standard input, answer JSON on standard output."""
    order = json.loads(sys.stdin.buffer.read())
    print(json.dumps(record_due(order["dsn"], order["by"], float(order["settle_seconds"]))))


if __name__ == "__main__":
    main()
