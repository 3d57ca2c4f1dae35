"""Errors of the notifier."""

from __future__ import annotations


class NotifyError(Exception):
    """Base class of notifier errors."""


class NotifyConfigError(NotifyError):
    """The notifier cannot run with these settings (e.g. no signing secret)."""
