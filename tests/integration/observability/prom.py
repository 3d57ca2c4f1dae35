"""Helpers for tests that need the Prometheus binaries (Debian package ``prometheus``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PROM_DIR = REPO / "deploy" / "prometheus"


def binary(name: str) -> str:
    """Return the path of ``promtool`` / ``prometheus``, failing (not skipping) if absent."""
    env = os.environ.get(f"ECM_{name.upper()}_BIN")
    debian = Path("/usr/bin") / name
    path = env or shutil.which(name) or (str(debian) if debian.exists() else None)
    if not path:
        pytest.fail(
            f"{name} not found: install the Debian 'prometheus' package (make stack-up does) "
            f"or set ECM_{name.upper()}_BIN",
            pytrace=False,
        )
    return path
