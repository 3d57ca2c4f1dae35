"""The agents: decode, call the ledger, publish what it returns. No rules, no SQL here.

* ``visits`` owns the visit-events and deadline-commands partitions: schedule, call and
  workflow events, watermark ticks (replay mode), deadline-due commands (live mode) and
  visit facts (what another visit or a carer's rota says about a carer they share:
  docs/rules.md, "At risk"), which it applies like any event of the visit.
* ``carers`` owns call events re-keyed by carer: overlapping visits; and schedule
  events re-keyed to each carer planned on the visit: rota realism.
* Anything that cannot be decoded, and any act the workflow refuses, goes to the
  dead-letter topic with the reason and its original bytes; a worker never stops on bad
  input.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ecm import contracts as c
from ecm import metrics, topics
from ecm.domain.events import CallTimeCorrected, CarerCall, CarerWhereabouts
from ecm.domain.rota import ScheduleEvent
from ecm.kafka.records import (
    DEADLINE_DUE,
    FLUSH,
    ROTAS_HEARD,
    SAID_AT_HEADER,
    VISIT_FACT,
    VISITS_HEARD,
    WATERMARK,
    DeadLetter,
    control_instant,
    control_kind,
    decode_gate_tick,
    decode_visit_event,
    decode_visit_fact,
    gate_tick,
    visit_fact,
)
from ecm.topics import replaced_by_later, route
from ecm.visits.carers import CarerLedger
from ecm.visits.ledger import Emission, Position, VisitLedger
from ecm.visits.rota import RotaLedger, rota_routes
from ecm.visits.translate import visit_event, without_location
from streams.app import Topology
from streams.gates import ROTAS, VISITS, Gates

log = logging.getLogger(__name__)


class Publisher:
    """Sends records to their topics (keyed as ``ecm.topics.route`` says) and dead letters.

    Records go straight to the app's producer, not through Faust's topic objects: the
    per-record bookkeeping there cost more than the ledger itself. It is the producer
    Faust flushes before every offset commit, so at-least-once still holds.
    """

    def __init__(self, topology: Topology) -> None:
        self._topology = topology

    async def send(
        self, logical: str, key: bytes | None, value: bytes,
        headers: list[tuple[str, bytes]] | None = None, partition: int | None = None,
    ) -> None:
        """Hand one record to the producer (batched; delivery is awaited at commit).

        Without ``partition`` the producer's key hash picks it, as for every keyed topic.
        """
        producer = self._topology.app.producer
        topic = self._topology.topic_name(logical)
        await producer.send(topic, key, value, partition, None, headers)

    async def publish(self, records: list[c.ContractEvent], count: bool = True,
                      hold: bool = False) -> None:
        """Send each record to its topic, keyed as ``route`` says (and count outcomes).

        With ``hold``, a record a later one replaces (``ecm.topics.replaced_by_later``:
        an outcome revision, a gap judgement) is held until the commit point instead
        (``Topology.held``): within one commit interval only the last of each is sent.
        """
        for record in records:
            target = route(record)
            if count and isinstance(record, c.VisitOutcomeRecorded):
                metrics.outcome_recorded(record.status.value)
            replaced_by = replaced_by_later(record) if hold else None
            if replaced_by is not None:
                self._topology.held.hold(self._topology.topic_name(target.topic),
                                         target.key.encode(), record, replaced_by.encode())
                continue
            await self.send(target.topic, target.key.encode(), c.dump_event(record))

    async def emit(self, emission: Emission) -> None:
        """Publish a ledger's records and count the new ones and the alerts that fired.

        Records a later one replaces are held until the commit point (``publish``).
        """
        await self.publish(emission.again, count=False, hold=True)  # sent before
        await self.publish(emission.records, hold=True)
        for change in emission.fired:
            if change.raised:
                metrics.alert_raised(change.kind.value, change.provider_id, change.lot_id)
            else:
                metrics.alert_resolved(change.kind.value, change.provider_id)

    async def dead_letter(self, event: Any, letter: DeadLetter) -> None:
        """Set a message aside with the reason, keeping its key and original bytes."""
        message = event.message
        headers = letter.headers(message.topic, message.partition, message.offset)
        await self.send(topics.DEAD_LETTER, event.key, event.value, headers)
        metrics.dead_lettered(letter.reason)
        log.warning(
            "dead-lettered %s/%s/%s: %s",
            message.topic, message.partition, message.offset, letter.reason.value,
        )


def install_agents(
    topology: Topology, ledger: VisitLedger, carers: CarerLedger,
    rotas: RotaLedger | None = None, gates: Gates | None = None,
) -> None:
    """Declare the visit and carer agents on the app (``rotas``: rota realism, by carer).

    ``gates`` (replay clock): the rota gate's bookkeeping (``ecm.visits.gate``); the visit
    agent passes its ticks on to the carer partitions and moves its gate as they answer.
    """
    app, publisher = topology.app, Publisher(topology)

    @app.agent(topology.visit_inputs, name="visits")
    async def visits(stream: Any) -> None:
        async for event in stream.events():
            started = time.perf_counter()
            message = event.message
            position = Position(message.partition, message.topic, message.offset)
            kind = control_kind(event.headers)
            try:
                if gates is not None and ledger.watermark(position.partition) is None:
                    # A partition (re)taken: its watermark where the last owner left it,
                    # or the events and facts before its next tick are judged without one
                    # (and at the end of an extract no tick comes).
                    left = gates.last_tick(position.partition)
                    if left is not None:
                        ledger.resume_watermark(position.partition, left)
                if kind is None:
                    decoded = decode_visit_event(event.value)
                    metrics.event_consumed(decoded.event_type)
                    watermark = _watermark(topology, ledger, position.partition)
                    call = visit_event(decoded, ledger.reference)
                    emission = ledger.on_event(position, call, watermark)
                    said = _said_at(watermark)  # from when the rota's words are in force
                    for carer, plan in rota_routes(ledger, call):  # rota realism, by carer
                        await publisher.send(topics.CARER_CALLS, carer, plan, said)
                    if isinstance(decoded, c.CallEvent):
                        carer = decoded.carer_id.encode()
                        plain = c.dump_event(without_location(decoded))
                        await publisher.send(topics.CARER_CALLS, carer, plain)
                elif kind == VISIT_FACT:  # what another visit or a carer's rota says
                    fact = decode_visit_fact(event.value)
                    watermark = _watermark(topology, ledger, position.partition)
                    emission = ledger.on_event(position, fact, watermark)
                elif kind == ROTAS_HEARD and gates is not None:  # the rota gate moves
                    source, instant = decode_gate_tick(event.value)
                    gates.hear(ROTAS, position.partition, source, instant)
                    gate = gates.low(ROTAS, position.partition)
                    emission = ledger.on_gate(position, gate) if gate else Emission()
                else:
                    emission = _on_control(ledger, position, kind, event)
                    if kind in (WATERMARK, FLUSH) and gates is not None:
                        instant = control_instant(event.value)
                        gates.tick(position.partition, instant)
                        await _pass_on(publisher, gates, position.partition, instant,
                                       kind == FLUSH)
                if gates is not None and ledger.gate(position.partition) is None:
                    # A partition just taken over: its gate where the last owner left it
                    # (the carer side may have nothing more to say to it).
                    left = gates.low(ROTAS, position.partition)
                    if left is not None:
                        emission += ledger.on_gate(position, left)
            except c.ContractError as exc:
                await publisher.dead_letter(event, DeadLetter.from_contract_error(exc))
                continue
            except Exception as exc:  # a bug must not stop the partition: keep the message
                log.exception("processing failed")
                await publisher.dead_letter(event, DeadLetter.from_failure(exc))
                continue
            await publisher.emit(emission)
            await _send_facts(publisher, emission.whereabouts)  # e.g. a carer running late
            for _, refusal in emission.refused:  # an act the workflow refused: kept, with why
                await publisher.dead_letter(event, DeadLetter.from_refusal(refusal.field,
                                                                           refusal.reason))
            metrics.observe_processing(time.perf_counter() - started)

    @app.agent(topology.carer_calls, name="carers")
    async def carer_calls(stream: Any) -> None:
        async for event in stream.events():
            try:
                if control_kind(event.headers) == VISITS_HEARD and gates is not None:
                    source, instant = decode_gate_tick(event.value)
                    heard = gates.hear(VISITS, event.message.partition, source, instant)
                    if heard is not None:  # every word said before it has been sent
                        await _answer(publisher, gates, event.message.partition, heard)
                    continue
                decoded = c.parse_event(event.value)
                if isinstance(decoded, c.ScheduleEvent) and rotas is not None:
                    schedule = visit_event(decoded)
                    assert isinstance(schedule, ScheduleEvent)
                    said_at = _header_instant(event.headers, SAID_AT_HEADER)
                    records = rotas.on_schedule(event.key.decode(), schedule, said_at)
                    # Taken before any await: a rebalance meanwhile releases the ledger,
                    # and with it the words not yet taken (lost if the partition stays).
                    words = rotas.take_whereabouts()
                    await publisher.publish(records, hold=True)
                    await _send_facts(publisher, words)  # where carers go next
                    continue
                if not isinstance(decoded, c.CallEvent):
                    raise c.ContractError([c.FieldError("event_type", "not a call event")])
                call = visit_event(decoded)
                assert isinstance(call, CarerCall | CallTimeCorrected)
                records = carers.on_call(call)
                doubts = carers.take_whereabouts()
            except Exception as exc:  # already validated upstream: only a bug lands here
                log.exception("carer processing failed")
                await publisher.dead_letter(event, DeadLetter.from_failure(exc))
                continue
            await publisher.publish(records)
            await _send_facts(publisher, doubts)

    del visits, carer_calls  # registered on the app


async def _pass_on(publisher: Publisher, gates: Gates, partition: int, instant: datetime,
                   flush: bool) -> None:
    """Pass a visit partition's tick on to every carer partition (``ecm.visits.gate``)."""
    if gates.pass_on(partition, instant, flush):
        value, headers = gate_tick(VISITS_HEARD, partition, instant)
        for carer_partition in range(gates.partitions):
            await publisher.send(topics.CARER_CALLS, None, value, headers, carer_partition)


async def _answer(publisher: Publisher, gates: Gates, partition: int, heard: datetime) -> None:
    """Tell every visit partition how far this carer partition has heard them all."""
    value, headers = gate_tick(ROTAS_HEARD, partition, heard)
    for visit_partition in range(gates.partitions):
        await publisher.send(topics.DEADLINE_COMMANDS, None, value, headers, visit_partition)


def _said_at(watermark: datetime | None) -> list[tuple[str, bytes]] | None:
    """The header stamping a schedule event re-keyed to a carer with its visit's watermark."""
    return None if watermark is None else [(SAID_AT_HEADER, watermark.isoformat().encode())]


def _header_instant(headers: Any, name: str) -> datetime | None:
    items = headers.items() if hasattr(headers, "items") else (headers or ())
    for key, value in items:
        if key == name:
            return datetime.fromisoformat(value.decode() if isinstance(value, bytes) else value)
    return None


async def _send_facts(publisher: Publisher, facts: Iterable[CarerWhereabouts]) -> None:
    """Send facts for visits to each visit's partition (the co-partitioned command topic)."""
    for fact in facts:
        key, value, headers = visit_fact(fact)
        await publisher.send(topics.DEADLINE_COMMANDS, key, value, headers)


def _watermark(topology: Topology, ledger: VisitLedger, partition: int) -> datetime | None:
    if topology.clock == "live":
        return datetime.now(UTC)
    return ledger.watermark(partition)


def _on_control(ledger: VisitLedger, position: Position, kind: str, event: Any) -> Emission:
    instant = control_instant(event.value)
    if kind == WATERMARK:
        return ledger.on_watermark(position, instant)
    if kind == FLUSH:
        return ledger.on_watermark(position, instant, flush=True)
    if kind == DEADLINE_DUE:
        return ledger.on_deadline(position, event.key.decode(), instant)
    raise c.ContractError([c.FieldError("ecm-control", f"unknown control message {kind!r}")])
