"""The Kafka topics of the service and which event goes where, with which key.

Everything about one visit (its schedule and its calls) goes to one topic keyed by
``visit_id``, so one partition sees it all, in order. Reference data goes to its own
topic keyed by the entity it describes, and reaches every worker. Names come from
settings (``ECM_KAFKA__TOPIC_PREFIX``); this module is the only place they are spelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ecm.contracts import (
    AlertHandled,
    AlertMonitoringSet,
    AlertRaised,
    AlertResolved,
    CarePackageAgreed,
    CarerRegistered,
    ClientRegistered,
    ContractEvent,
    ContractRulesSet,
    ExceptionStatusChanged,
    LotDefined,
    ProviderRegistered,
    RateCardPublished,
    ReasonCodesPublished,
    TravelGapJudged,
    VisitExceptionRaised,
    VisitExceptionResolved,
    VisitOutcomeRecorded,
)
from ecm.settings import KafkaSettings

REFERENCE = "reference"
VISIT_EVENTS = "visit-events"
OUTCOMES = "outcomes"
ALERTS = "alerts"
EXCEPTIONS = "exceptions"
DEADLINE_COMMANDS = "deadline-commands"
CARER_CALLS = "carer-calls"
DEAD_LETTER = "dead-letter"

ALL_TOPICS = (
    REFERENCE,
    VISIT_EVENTS,
    OUTCOMES,
    ALERTS,
    EXCEPTIONS,
    DEADLINE_COMMANDS,
    CARER_CALLS,
    DEAD_LETTER,
)

ENGINE_INPUTS = (VISIT_EVENTS, DEADLINE_COMMANDS, CARER_CALLS)
"""What the workers' visit and carer agents read (their Faust consumer group)."""

SINK_INPUTS = (VISIT_EVENTS, REFERENCE, OUTCOMES, ALERTS, EXCEPTIONS)
"""What the workers' database sink reads (a consumer group of its own)."""


def worker_group(kafka: KafkaSettings) -> str:
    """Return the consumer group (and Faust app id) of the stream workers' agents."""
    return f"{kafka.topic_prefix}-worker"


WORKER_TABLES = ("visits", "carers", "rotas", "gates")
"""The stream workers' Faust tables (``streams/app.py``), each with a compacted changelog."""


def changelog_topic(kafka: KafkaSettings, table: str) -> str:
    """Return the name Faust gives a worker table's changelog topic."""
    return f"{worker_group(kafka)}-{table}-changelog"


def sink_group(kafka: KafkaSettings) -> str:
    """Return the consumer group of the stream workers' database sink."""
    return f"{kafka.topic_prefix}-sink"


def pipeline_groups(kafka: KafkaSettings) -> dict[str, tuple[str, ...]]:
    """Return every consumer group of the workers, with the topics it reads."""
    return {worker_group(kafka): ENGINE_INPUTS, sink_group(kafka): SINK_INPUTS}


@dataclass(frozen=True)
class Route:
    """Where one event is published: the logical topic and the partition key."""

    topic: str
    key: str

    def full_topic(self, kafka: KafkaSettings) -> str:
        """The topic name on the broker, with the configured prefix."""
        return kafka.topic(self.topic)


def reference_key(event: ContractEvent) -> str:
    """The key of a reference record: its kind and id, e.g. ``client:C123``."""
    match event:
        case LotDefined():
            return f"lot:{event.lot_id}"
        case ProviderRegistered():
            return f"provider:{event.provider_id}"
        case ClientRegistered():
            return f"client:{event.client_id}"
        case CarerRegistered():
            return f"carer:{event.carer_id}"
        case CarePackageAgreed():
            return f"package:{event.package_id}"
        case RateCardPublished():
            return f"rate_card:{event.rate_card_id}"
        case ContractRulesSet():
            return f"rules:{event.rules_id}"
        case ReasonCodesPublished():
            return f"codes:{event.code_list_id}"
        case AlertMonitoringSet():
            return f"monitoring:{event.monitoring_id}"
    raise ValueError(f"{type(event).__name__} is not reference data")


def route(event: ContractEvent) -> Route:
    """Return the topic and key for any contract event."""
    visit_id = getattr(event, "visit_id", None)
    if not isinstance(visit_id, str):
        return Route(REFERENCE, reference_key(event))
    return Route(_output_topic(type(event)) or VISIT_EVENTS, visit_id)


def replaced_by_later(event: ContractEvent) -> str | None:
    """The identity under which a later record of the same kind replaces this one.

    A visit's outcome revisions and a gap's judgements: their consumers keep only the
    latest of each (``ecm.storage.sink``), so a producer may send only the last one of a
    batch. None for every other record, each of which counts.
    """
    if isinstance(event, VisitOutcomeRecorded):
        return f"outcome:{event.visit_id}"
    if isinstance(event, TravelGapJudged):
        return f"gap:{event.gap_id}"
    return None


@cache
def _output_topic(kind: type[ContractEvent]) -> str | None:
    """The topic of an output event type (keyed by its visit); None for an input.

    Answered once per class: ``isinstance`` against a pydantic model that fails costs
    ~0.4 µs (a union of them ~1.5), ~4 µs for every input event routed this way.
    """
    if issubclass(kind, VisitOutcomeRecorded):
        return OUTCOMES
    if issubclass(kind, AlertRaised | AlertResolved | AlertHandled):
        return ALERTS
    if issubclass(kind, VisitExceptionRaised | VisitExceptionResolved | ExceptionStatusChanged
                  | TravelGapJudged):
        return EXCEPTIONS
    return None
