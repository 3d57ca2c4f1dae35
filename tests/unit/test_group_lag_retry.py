"""Asking a new broker about a group waits out its coordinator, and only that."""

from __future__ import annotations

import pytest
from kafka.errors import CoordinatorNotAvailableError, GroupAuthorizationFailedError

from ecm.kafka.admin import _committed


class Admin:
    def __init__(self, *failures: Exception) -> None:
        self.failures, self.asked = list(failures), 0

    def list_group_offsets(self, group: str) -> dict[str, dict[str, int]]:
        self.asked += 1
        if self.failures:
            raise self.failures.pop(0)
        return {group: {"t-0": 5}}


def test_a_coordinator_not_ready_yet_is_asked_again() -> None:
    admin = Admin(CoordinatorNotAvailableError(), CoordinatorNotAvailableError())
    assert _committed(admin, "g") == {"t-0": 5}  # type: ignore[arg-type]
    assert admin.asked == 3


def test_a_refusal_is_not_retried() -> None:
    admin = Admin(GroupAuthorizationFailedError())
    with pytest.raises(GroupAuthorizationFailedError):
        _committed(admin, "g")  # type: ignore[arg-type]
    assert admin.asked == 1
