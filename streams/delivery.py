"""No offset is committed past a record the producer gave up on.

Faust flushes the producer before it commits offsets, but a flush only waits: a batch
the broker refused, or one that timed out through a long broker outage, fails its
records' futures and the commit goes ahead, so those records (an alert, an outcome,
a table's changelog entry) would be lost for good. This producer remembers the first
failed delivery and from then on refuses every flush, so no commit happens; the worker
stops, and on restart the input is redelivered from the last good commit and the
ledger republishes what those messages changed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import faust
from faust.exceptions import ProducerSendError
from faust.transport.drivers.aiokafka import Producer

log = logging.getLogger(__name__)


class DeliveryCheckedProducer(Producer):
    """Faust's aiokafka producer, with every delivery checked before a commit.

    Its flush also drains the buffer of table changelog records completely: Faust's own
    returns once 0.1 s passes without a record sent, possibly with some still buffered.
    """

    undelivered: BaseException | None = None

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        """Send as Faust does, and watch the record's delivery."""
        delivery = cast(asyncio.Future[Any], await super().send(*args, **kwargs))
        delivery.add_done_callback(self._on_delivery)
        return delivery

    def _on_delivery(self, delivery: asyncio.Future[Any]) -> None:
        if delivery.cancelled() or delivery.exception() is None:
            return
        if self.undelivered is None:
            self.undelivered = delivery.exception()
            log.critical("a record was not delivered (%r): no offset will be committed "
                         "again; the worker stops and its input is redelivered on restart",
                         self.undelivered)  # fmt: skip

    async def flush(self) -> None:
        """Wait for everything sent, then refuse if anything sent was lost.

        Raises:
            ProducerSendError: a record was not delivered; the caller must not commit.
        """
        await super().flush()
        while self.buffer.size:  # Faust's buffer flush gives up after 0.1 s with no send
            await super().flush()
        await asyncio.sleep(0)  # the flushed batches' delivery callbacks run first
        if self.undelivered is not None:
            raise ProducerSendError(f"a record was not delivered: {self.undelivered!r}")


def check_deliveries(app: faust.App) -> None:
    """Make the app's producer a ``DeliveryCheckedProducer`` (before it is created)."""
    # This app's transport only; the stub declares the class attribute a ClassVar.
    app.transport.Producer = DeliveryCheckedProducer  # type: ignore[misc]
