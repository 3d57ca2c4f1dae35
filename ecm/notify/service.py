"""Run the notifier: the alerts consumer and the delivery loop, side by side."""

from __future__ import annotations

import asyncio

from ecm.notify.config import NotifierConfig
from ecm.notify.consumer import consume_alerts
from ecm.notify.delivery import delivery_loop


async def run_notifier(config: NotifierConfig) -> None:
    """Consume alerts into the outbox and deliver them, until cancelled or one fails.

    Cancelling the task stops both loops; an in-flight delivery batch finishes and
    commits first, and uncommitted Kafka offsets are simply read again next time.
    """
    async with asyncio.TaskGroup() as group:
        group.create_task(consume_alerts(config), name="ecm-notify-consumer")
        group.create_task(delivery_loop(config), name="ecm-notify-delivery")
