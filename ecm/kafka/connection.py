"""The one Kafka options builder: bootstrap, TLS and SASL for every component, from settings.

Every client ecm runs reaches the broker with the same settings (``KafkaSettings``): the
worker (Faust, ``streams.app``), its reference reader and database sink (aiokafka), the
notifier and the API's producer (aiokafka), the publishers and admin (kafka-python) and
the providers' client (kafka-python). ``broker_security`` decides once what the settings
mean; the functions below only spell it the way each client library wants.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ecm.settings import KafkaSettings

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
PARTITION_BATCH_BYTES = 512 * 1024
"""Most a producer batches for one partition (API and workers): under the broker's 1 MiB."""


@dataclass(frozen=True)
class BrokerSecurity:
    """How to reach the broker: servers, protocol, SASL user and TLS trust."""

    servers: tuple[str, ...]
    protocol: str
    sasl_mechanism: str | None
    sasl_username: str | None
    sasl_password: str | None
    ssl_cafile: str | None

    @property
    def tls(self) -> bool:
        """Whether the connection is encrypted."""
        return self.protocol.endswith("SSL")

    @property
    def sasl(self) -> bool:
        """Whether the client authenticates with SASL."""
        return self.protocol.startswith("SASL_")

    def ssl_context(self) -> ssl.SSLContext | None:
        """A TLS context trusting the configured CA (the system's by default), or None."""
        return ssl.create_default_context(cafile=self.ssl_cafile) if self.tls else None


def broker_security(kafka: KafkaSettings) -> BrokerSecurity:
    """Read and check the connection settings once.

    Raises:
        ValueError: a protocol this client cannot speak, or SASL without a mechanism,
            user name or password (named, so a misconfigured worker says so at start).
    """
    protocol = kafka.security_protocol.upper()
    if protocol not in SECURITY_PROTOCOLS:
        raise ValueError(f"ECM_KAFKA__SECURITY_PROTOCOL: {kafka.security_protocol!r} is not "
                         f"one of {', '.join(SECURITY_PROTOCOLS)}")
    password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
    if protocol.startswith("SASL_"):
        missing = [name for name, value in (("SASL_MECHANISM", kafka.sasl_mechanism),
                                            ("SASL_USERNAME", kafka.sasl_username),
                                            ("SASL_PASSWORD", password)) if not value]
        if missing:
            raise ValueError(f"{protocol} needs ECM_KAFKA__{', ECM_KAFKA__'.join(missing)}")
    return BrokerSecurity(
        servers=tuple(s.strip() for s in kafka.bootstrap_servers.split(",") if s.strip()),
        protocol=protocol,
        sasl_mechanism=kafka.sasl_mechanism if protocol.startswith("SASL_") else None,
        sasl_username=kafka.sasl_username if protocol.startswith("SASL_") else None,
        sasl_password=password if protocol.startswith("SASL_") else None,
        ssl_cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None,
    )


def client_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for a kafka-python client (producer, consumer, admin)."""
    security = broker_security(kafka)
    options: dict[str, Any] = {
        "bootstrap_servers": list(security.servers),
        "security_protocol": security.protocol,
    }
    if security.sasl:
        options.update(sasl_mechanism=security.sasl_mechanism,
                       sasl_plain_username=security.sasl_username,
                       sasl_plain_password=security.sasl_password)
    if security.tls and security.ssl_cafile:
        options["ssl_cafile"] = security.ssl_cafile
    return options


def aiokafka_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for an aiokafka client (producer or consumer)."""
    security = broker_security(kafka)
    options: dict[str, Any] = {
        "bootstrap_servers": ",".join(security.servers),
        "security_protocol": security.protocol,
        "ssl_context": security.ssl_context(),
    }
    if security.sasl:
        options.update(sasl_mechanism=security.sasl_mechanism,
                       sasl_plain_username=security.sasl_username,
                       sasl_plain_password=security.sasl_password)
    return options


class BrokerUnavailable(RuntimeError):
    """The broker could not be reached or refused this client; the message says which."""


_REFUSED = ("Authentication failed", "SaslAuthenticationFailed", "invalid credentials")
_CLOSED = ("closed", "disconnected")


class RefusalWatch(logging.Handler):
    """Notes what the Kafka client libraries log while connecting, to explain a failure.

    kafka-python and aiokafka both raise a bare "unable to bootstrap" and only log why.
    Each record is looked at as it comes (nothing is kept), so a long retry loop cannot
    push the one line that says why out of view.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.refused = False
        self.closed = False

    def emit(self, record: logging.LogRecord) -> None:
        """Note whether the broker refused the credentials or closed the connection."""
        text = record.getMessage()
        self.refused = self.refused or any(word in text for word in _REFUSED)
        self.closed = self.closed or any(word in text for word in _CLOSED)

    def explain(self, kafka: KafkaSettings) -> str:
        """Say, in the operator's terms, why connecting to the broker failed."""
        security = broker_security(kafka)
        where = f"Kafka at {','.join(security.servers)} over {security.protocol}"
        check = "check ECM_KAFKA__SASL_USERNAME and ECM_KAFKA__SASL_PASSWORD"
        who = f"user {security.sasl_username!r} ({security.sasl_mechanism})"
        if self.refused:
            return f"{where} refused the credentials of {who}: {check}"
        if self.closed and security.sasl:
            # The broker answers refused credentials by closing the connection; a client
            # sometimes reads the close before the error that came with it.
            return (f"{where} closed the connection while authenticating {who}: the "
                    f"credentials were most likely refused; {check}")
        if self.closed:
            return (f"{where} closed the connection: this listener wants SASL or TLS "
                    "(set ECM_KAFKA__SECURITY_PROTOCOL and its credentials)")
        return f"{where} did not answer: is the broker up, and is this its address?"


@contextmanager
def watching_refusals() -> Iterator[RefusalWatch]:
    """Collect the client libraries' log lines about connecting for the block's duration."""
    watch = RefusalWatch()
    loggers = [logging.getLogger(name) for name in ("kafka", "aiokafka")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(watch)
        if logger.getEffectiveLevel() > logging.ERROR:
            logger.setLevel(logging.ERROR)
    try:
        yield watch
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(watch)
            logger.setLevel(level)
