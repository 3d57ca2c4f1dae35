"""Where the lines go: a JSONL file (or stdout), or Kafka; as fast as possible or paced.

The Kafka sink uses the broker and topic prefix from settings, routes each event with
``ecm.topics.route`` (malformed lines go raw to ``visit-events``), and produces with
``acks="all"`` and idempotence so a retry never duplicates a message. It sends no
watermark ticks: for a replay through workers in event time, write a file and send it
with ``ecm publish``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from ecm.settings import KafkaSettings
from ecm.simulate.stream import Line
from ecm.topics import REFERENCE


class Sink(Protocol):
    """Something lines can be written to, then closed (flushing everything)."""

    def write(self, line: Line) -> None:
        """Write one line."""

    def close(self) -> None:
        """Flush and release the sink."""


class JsonlSink:
    """One event per line, in arrival order; ``-`` means stdout."""

    def __init__(self, target: str) -> None:
        self._own = target != "-"
        self._out: BinaryIO = (
            open(Path(target), "wb", buffering=1 << 20)
            if self._own  # noqa: SIM115
            else sys.stdout.buffer
        )

    def write(self, line: Line) -> None:
        """Write the payload and a newline."""
        self._out.write(line.payload)
        self._out.write(b"\n")

    def close(self) -> None:
        """Flush, and close the file if we opened it."""
        self._out.flush()
        if self._own:
            self._out.close()


class KafkaSink:
    """Produce each line to its topic with its key (kafka-python ``KafkaProducer``)."""

    def __init__(self, kafka: KafkaSettings) -> None:
        from ecm.kafka.publish import producer  # imported here: files need no broker client

        self._kafka = kafka
        self._producer = producer(kafka)

    def write(self, line: Line) -> None:
        """Send one message (asynchronously; errors surface at ``close``)."""
        self._producer.send(
            self._kafka.topic(line.topic), key=line.key.encode(), value=line.payload
        )

    def close(self) -> None:
        """Wait until every message is acknowledged, then close the producer."""
        self._producer.flush()
        self._producer.close()


def paced(
    lines: Iterable[Line],
    speed: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Line]:
    """Release each line when the wall clock reaches its arrival time, ``speed`` times faster.

    The first visit event sets time zero (the reference data before it goes at once):
    a line arriving ``s`` simulated seconds later is released ``s / speed`` wall
    seconds later.
    """
    start_wall: float | None = None
    start_sim = 0.0
    for line in lines:
        if start_wall is None and line.topic == REFERENCE:
            yield line
            continue
        if start_wall is None:
            start_wall, start_sim = clock(), line.arrival
        wait = start_wall + (line.arrival - start_sim) / speed - clock()
        if wait > 0:
            sleep(wait)
        yield line
