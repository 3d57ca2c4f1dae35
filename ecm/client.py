"""A Kafka client for providers that integrate directly, on kafka-python.

Builds and validates contract-v1 events and produces them with an idempotent producer
and ``acks="all"``, to the topic and key ``ecm.topics.route`` gives (the visit id for
visit events), so the service sees each visit's events in order::

    from ecm.client import EcmClient

    with EcmClient("P001", bootstrap_servers="kafka.example:9093",
                   security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
                   sasl_username="p001", sasl_password="...") as ecm:
        ecm.send(ecm.check_in(visit_id="V1", carer_id="K7", client_id="C9", method="nfc"))

Every builder generates a uuid4 ``event_id`` unless one is given. Keep the event (or
its id) until ``send`` is acknowledged: re-sending an event with the same ``event_id``
is safe, the service dedups by it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from ecm.contracts import (
    CallTimeCorrected,
    CarerCheckedIn,
    CarerCheckedOut,
    ContractError,
    ContractEvent,
    InputEvent,
    VisitCancelled,
    VisitChanged,
    VisitPlanned,
    dump_event,
    parse_event,
)
from ecm.kafka.connection import client_options
from ecm.settings import KafkaSettings
from ecm.topics import VISIT_EVENTS, route

__all__ = ["ClientError", "ContractError", "DeliveryError", "EcmClient"]


class ClientError(RuntimeError):
    """The client cannot do what was asked (e.g. an event for another provider)."""


class DeliveryError(ClientError):
    """Kafka did not acknowledge an event in time; re-sending the same event is safe."""


def _options(kafka: KafkaSettings | None, overrides: Mapping[str, Any]) -> dict[str, Any]:
    options = client_options(kafka) if kafka is not None else {}
    renames = {"sasl_username": "sasl_plain_username", "sasl_password": "sasl_plain_password"}
    options.update({renames.get(k, k): v for k, v in overrides.items() if v is not None})
    return options


class EcmClient:
    """Validates and produces one provider's events to the ECM service's Kafka topics."""

    def __init__(
        self,
        provider_id: str,
        *,
        kafka: KafkaSettings | None = None,
        topic_prefix: str | None = None,
        producer: Any = None,
        timeout_seconds: float = 30.0,
        **kafka_options: Any,
    ) -> None:
        """Connect to the broker.

        Args:
            provider_id: your provider id; events for another provider are refused.
            kafka: connection settings (bootstrap, SASL, TLS) as the service reads them.
            topic_prefix: the topic prefix (default: ``kafka.topic_prefix`` or ``ecm``).
            producer: a ready producer with kafka-python's ``send``/``flush`` (tests).
            timeout_seconds: how long ``send(..., wait=True)`` and ``flush`` wait.
            **kafka_options: kafka-python options, e.g. ``bootstrap_servers``,
                ``security_protocol``, ``sasl_mechanism``, ``sasl_username``,
                ``sasl_password``, ``ssl_cafile``, ``ssl_certfile``, ``ssl_keyfile``.

        """
        self.provider_id = provider_id
        self._kafka = kafka or KafkaSettings()
        if topic_prefix is not None:
            self._kafka = self._kafka.model_copy(update={"topic_prefix": topic_prefix})
        self._timeout = timeout_seconds
        self._producer = producer or self._connect(_options(kafka, kafka_options))

    @staticmethod
    def _connect(options: dict[str, Any]) -> Any:
        from kafka import KafkaProducer

        return KafkaProducer(
            acks="all", enable_idempotence=True, retries=2**31 - 1,
            max_in_flight_requests_per_connection=5, linger_ms=5, **options
        )

    # -- building events -------------------------------------------------------------

    def _build(self, model: type[ContractEvent], fields: dict[str, Any]) -> Any:
        body = {k: v for k, v in fields.items() if v is not None}
        body.setdefault("event_id", str(uuid.uuid4()))
        body.setdefault("occurred_at", datetime.now(UTC))
        body["provider_id"] = self.provider_id
        body["event_type"] = model.model_fields["event_type"].default
        return parse_event(body)  # raises ContractError naming each failing field

    def check_in(self, *, visit_id: str, carer_id: str, client_id: str, method: str,
                 at: datetime | None = None, location: dict[str, float] | None = None,
                 reason_code: str | None = None, event_id: str | None = None) -> CarerCheckedIn:
        """Build a validated ``carer_checked_in`` (``at`` defaults to now, UTC)."""
        return self._build(CarerCheckedIn, {  # type: ignore[no-any-return]
            "visit_id": visit_id, "carer_id": carer_id, "client_id": client_id,
            "method": method, "occurred_at": at, "location": location,
            "reason_code": reason_code, "event_id": event_id})

    def check_out(self, *, visit_id: str, carer_id: str, client_id: str, method: str,
                  at: datetime | None = None, reason_code: str | None = None,
                  event_id: str | None = None) -> CarerCheckedOut:
        """Build a validated ``carer_checked_out`` (``at`` defaults to now, UTC)."""
        return self._build(CarerCheckedOut, {  # type: ignore[no-any-return]
            "visit_id": visit_id, "carer_id": carer_id, "client_id": client_id,
            "method": method, "occurred_at": at, "reason_code": reason_code,
            "event_id": event_id})

    def plan_visit(self, *, visit_id: str, client_id: str, service: str, planned_start: datetime,
                   planned_end: datetime, **extra: Any) -> VisitPlanned:
        """Build a validated ``visit_planned`` (extra: carers_required, tier, ...)."""
        return self._build(VisitPlanned, {  # type: ignore[no-any-return]
            "visit_id": visit_id, "client_id": client_id, "service": service,
            "planned_start": planned_start, "planned_end": planned_end, **extra})

    def change_visit(self, *, visit_id: str, planned_start: datetime, planned_end: datetime,
                     **extra: Any) -> VisitChanged:
        """Build a validated ``visit_changed`` (new times replace the old ones)."""
        return self._build(VisitChanged, {  # type: ignore[no-any-return]
            "visit_id": visit_id, "planned_start": planned_start,
            "planned_end": planned_end, **extra})

    def cancel_visit(self, *, visit_id: str, cancelled_by: str, reason: str | None = None,
                     **extra: Any) -> VisitCancelled:
        """Build a validated ``visit_cancelled``."""
        return self._build(VisitCancelled, {  # type: ignore[no-any-return]
            "visit_id": visit_id, "cancelled_by": cancelled_by, "reason": reason, **extra})

    def correct_call_time(self, *, visit_id: str, carer_id: str, corrects: str,
                          corrected_time: datetime, reason_code: str, corrected_by: str,
                          **extra: Any) -> CallTimeCorrected:
        """Build a validated, audited ``call_time_corrected``."""
        return self._build(CallTimeCorrected, {  # type: ignore[no-any-return]
            "visit_id": visit_id, "carer_id": carer_id, "corrects": corrects,
            "corrected_time": corrected_time, "reason_code": reason_code,
            "corrected_by": corrected_by, **extra})

    # -- sending ---------------------------------------------------------------------

    def validate(self, event: ContractEvent | Mapping[str, Any]) -> InputEvent:
        """Re-validate an event (model or dict) and check it is this provider's visit event.

        Raises:
            ContractError: naming each failing field.
            ClientError: not a schedule/call event, or for another provider.

        """
        raw = event.model_dump(mode="json") if isinstance(event, ContractEvent) else dict(event)
        parsed = parse_event(raw)
        if route(parsed).topic != VISIT_EVENTS:
            raise ClientError(f"{parsed.event_type} is not a provider event")
        if getattr(parsed, "provider_id", None) != self.provider_id:
            raise ClientError(f"event {parsed.event_id} is for another provider")
        return parsed  # type: ignore[return-value]

    def send(self, event: ContractEvent | Mapping[str, Any], *, wait: bool = False) -> Any:
        """Validate, then produce to the routed topic keyed by visit id.

        Args:
            event: a model from a builder, or a dict in the wire format.
            wait: block until Kafka acknowledges (raises DeliveryError if not).

        Returns:
            kafka-python's future (or, with ``wait``, its record metadata).

        """
        parsed = self.validate(event)
        where = route(parsed)
        future = self._producer.send(
            where.full_topic(self._kafka), value=dump_event(parsed), key=where.key.encode())
        if not wait:
            return future
        try:
            return future.get(timeout=self._timeout)
        except Exception as exc:
            raise DeliveryError(f"event {parsed.event_id} not acknowledged: {exc}") from exc

    def flush(self, timeout: float | None = None) -> None:
        """Block until every sent event is acknowledged or failed."""
        try:
            self._producer.flush(timeout=timeout or self._timeout)
        except Exception as exc:
            raise DeliveryError(f"flush did not complete: {exc}") from exc

    def close(self) -> None:
        """Flush and close the connection."""
        self._producer.close(timeout=self._timeout)

    def __enter__(self) -> EcmClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.flush()
        self.close()
