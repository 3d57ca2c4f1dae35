"""The operator commands talk to a fake transport instead of the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ecm.cli import api_client

from .fakes import FakeTransport


@pytest.fixture()
def transport(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTransport]:
    fake = FakeTransport()
    monkeypatch.setattr(api_client, "_transport_factory", lambda: fake)
    yield fake
