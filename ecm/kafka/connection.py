"""Connection options (bootstrap, SASL, TLS) for kafka-python clients, from settings."""

from __future__ import annotations

from typing import Any

from ecm.settings import KafkaSettings


def client_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Return the keyword arguments every kafka-python client needs to reach the broker."""
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers.split(","),
        "security_protocol": kafka.security_protocol,
    }
    if kafka.sasl_mechanism:
        options["sasl_mechanism"] = kafka.sasl_mechanism
        options["sasl_plain_username"] = kafka.sasl_username
        if kafka.sasl_password is not None:
            options["sasl_plain_password"] = kafka.sasl_password.get_secret_value()
    if kafka.ssl_cafile is not None:
        options["ssl_cafile"] = str(kafka.ssl_cafile)
    return options
