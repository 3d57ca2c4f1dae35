"""A Faust table seen as the ledgers' keyed store (bytes in, bytes out)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class TableStore:
    """Adapts a Faust ``Table`` with raw keys and values to ``ecm.visits.ledger.VisitStore``.

    Writes must happen inside stream iteration (Faust derives the changelog partition
    from the event being processed), which is where the agents call the ledgers.
    """

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: str) -> bytes | None:
        """Return the stored bytes for ``key``, if any."""
        value = self._table.get(key.encode())
        return bytes(value) if value is not None else None

    def put(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key`` (and in the table's changelog)."""
        self._table[key.encode()] = value

    def delete(self, key: str) -> None:
        """Forget ``key`` (a tombstone in the changelog); nothing happens if it is absent."""
        self._table.pop(key.encode(), None)

    def items(self) -> Iterator[tuple[str, bytes]]:
        """Every key held by this process, with its value."""
        for key, value in list(self._table.items()):
            yield (key.decode() if isinstance(key, bytes) else str(key)), bytes(value)
