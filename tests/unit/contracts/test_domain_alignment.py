"""The wire contract and the domain spell the same vocabularies.

The domain cannot import pydantic, so the enums exist twice; this keeps them equal.
"""

from __future__ import annotations

from enum import Enum

import pytest

from ecm import contracts as c
from ecm.domain.deadlines import AlertKind
from ecm.domain.exceptions import ExceptionKind
from ecm.domain.outcome import VisitStatus


@pytest.mark.parametrize(
    ("wire", "domain"),
    [(c.ExceptionKindV3, ExceptionKind), (c.AlertKindV2, AlertKind), (c.VisitStatusV2, VisitStatus)],
)
def test_contract_and_domain_enums_have_the_same_values(
    wire: type[Enum], domain: type[Enum]
) -> None:
    assert {e.value for e in wire} == {e.value for e in domain}
