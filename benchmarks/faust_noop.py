"""The ceiling of a Faust agent on this machine: iterate a topic, do nothing, count.

Run by ``bench_stream.py`` next to the raw aiokafka consumer, on the same topic:

    .venv/bin/python benchmarks/faust_noop.py BOOTSTRAP TOPIC MESSAGES

Prints ``RESULT <messages> <seconds>`` (from the first message to the last) and exits.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import Any

import faust


def main() -> None:
    bootstrap, topic, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
    app = faust.App(
        f"bench-faust-noop-{os.getpid()}", broker=f"kafka://{bootstrap}", store="memory://",
        web_enabled=False, consumer_auto_offset_reset="earliest", key_serializer="raw",
        value_serializer="raw", datadir=tempfile.mkdtemp(prefix="faust-noop-"), loghandlers=[],
    )  # fmt: skip
    seen = {"messages": 0}
    started: list[float] = []

    @app.agent(app.topic(topic))
    async def count(stream: Any) -> None:
        async for _ in stream.events():
            if not started:
                started.append(time.perf_counter())
            seen["messages"] += 1
            if seen["messages"] >= total:
                print(f"RESULT {seen['messages']} {time.perf_counter() - started[0]:.6f}",
                      flush=True)  # fmt: skip
                os._exit(0)  # a measurement, not a worker: no clean shutdown needed

    del count
    worker = faust.Worker(app, loglevel="warning", quiet=True)
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
