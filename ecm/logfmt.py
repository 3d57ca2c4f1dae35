"""One log line per record, with the record's structured fields (``extra=``) appended.

The API's security, audit and refusal logs pass who, what and where as ``extra``; a
plain formatter would drop them. ``log_config()`` is uvicorn's default configuration
plus the ``ecm`` loggers at INFO through this formatter.
"""

from __future__ import annotations

import json
import logging
from typing import Any

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class ExtrasFormatter(logging.Formatter):
    """``time level logger message key=value …`` (values JSON-encoded)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The line, with every field not standard to a log record appended."""
        line = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if extras:
            line += " " + " ".join(f"{k}={json.dumps(v, default=str)}"
                                   for k, v in sorted(extras.items()))
        return line


def log_config() -> dict[str, Any]:
    """Uvicorn's logging configuration plus the ``ecm`` loggers (INFO, with their fields)."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = json.loads(json.dumps(LOGGING_CONFIG))
    config["formatters"]["ecm"] = {"()": f"{__name__}.ExtrasFormatter"}
    config["handlers"]["ecm"] = {"class": "logging.StreamHandler", "formatter": "ecm",
                                 "stream": "ext://sys.stderr"}
    config["loggers"]["ecm"] = {"handlers": ["ecm"], "level": "INFO", "propagate": False}
    return config
