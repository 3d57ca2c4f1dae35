"""Errors raised when a payload does not meet the contract."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One failing field: its dotted path (``location.lat``) and the reason."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class ContractError(ValueError):
    """A payload that is not a valid contract event; ``errors`` names every failing field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors) or "invalid event")

    def as_dicts(self) -> list[dict[str, str]]:
        """Return the errors as ``{"field": ..., "reason": ...}`` dicts for APIs and logs."""
        return [{"field": e.field, "reason": e.reason} for e in self.errors]
