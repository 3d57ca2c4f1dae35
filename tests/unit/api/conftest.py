"""The fixtures of the API unit tests (fakes live in api_fakes.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fakes import Api, make_api


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[Api]:
    made = make_api(tmp_path)
    with made.client:
        yield made
