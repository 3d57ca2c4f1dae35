"""Errors of the storage package."""

from __future__ import annotations


class StorageError(RuntimeError):
    """The database could not do what was asked."""


class MigrationError(StorageError):
    """A migration file is malformed or failed to apply."""
