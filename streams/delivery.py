"""No offset is committed past a record the producer gave up on.

Faust flushes the producer before it commits offsets, but a flush only waits: a batch
the broker refused, or one that timed out through a long broker outage, fails its
records' futures and the commit goes ahead, so those records (an alert, an outcome,
a table's changelog entry) would be lost for good. This producer remembers the first
record it could not send or deliver and from then on refuses every flush, so no commit
happens; the worker stops, and on restart the input is redelivered from the last good
commit and the ledger republishes what those messages changed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import faust
from faust.exceptions import ProducerSendError
from faust.transport.drivers.aiokafka import Producer

log = logging.getLogger(__name__)

# How long a flush waits for table changelog records still on their way to the producer
# before it gives up (and the worker stops rather than commit past them).
HANDOVER_SECONDS = 120.0


class DeliveryCheckedProducer(Producer):
    """Faust's aiokafka producer, with every record checked before a commit.

    Its flush also waits until the table changelog records queued in Faust's buffer have
    reached the producer: Faust's own returns once 0.1 s passes without one sent, and
    its buffer count drops before the record is handed over.
    """

    undelivered: BaseException | None = None
    _sending: int = 0

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        """Send as Faust does, and watch the record's delivery."""
        self._sending += 1
        try:
            delivery = cast(asyncio.Future[Any], await super().send(*args, **kwargs))
        except Exception as exc:  # refused before it left (too large, producer failed)
            self._lost(exc)
            raise
        finally:
            self._sending -= 1
        delivery.add_done_callback(self._on_delivery)
        return delivery

    def _on_delivery(self, delivery: asyncio.Future[Any]) -> None:
        if not delivery.cancelled() and delivery.exception() is not None:
            self._lost(cast(BaseException, delivery.exception()))

    def _lost(self, exc: BaseException) -> None:
        if self.undelivered is None:
            self.undelivered = exc
            log.critical("a record was not delivered (%r): no offset will be committed "
                         "again; the worker stops and its input is redelivered on restart",
                         exc)  # fmt: skip

    async def flush(self) -> None:
        """Wait for everything sent, then refuse if anything sent was lost.

        The offsets to commit were chosen before the flush, so their records are already
        in the producer, in Faust's buffer or being sent: once the buffer is empty and no
        send is under way, one more flush of the producer covers them all.

        Raises:
            ProducerSendError: a record was not delivered; the caller must not commit.
        """
        await super().flush()
        loop = asyncio.get_running_loop()
        give_up = loop.time() + HANDOVER_SECONDS
        while self.buffer.size or self._sending:
            if loop.time() > give_up:
                self._lost(TimeoutError(f"records still waiting for the producer after "
                                        f"{HANDOVER_SECONDS:.0f} s"))  # fmt: skip
                break
            await asyncio.sleep(0.01)
        else:
            await super().flush()
        await asyncio.sleep(0)  # the flushed batches' delivery callbacks run first
        if self.undelivered is not None:
            raise ProducerSendError(f"a record was not delivered: {self.undelivered!r}")


def check_deliveries(app: faust.App) -> None:
    """Make the app's producer a ``DeliveryCheckedProducer`` (before it is created)."""
    # This app's transport only; the stub declares the class attribute a ClassVar.
    app.transport.Producer = DeliveryCheckedProducer  # type: ignore[misc]
