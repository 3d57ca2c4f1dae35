"""The product's default code list (docs/reason-codes.json) is a valid, usable council list."""

from __future__ import annotations

import json

import pytest

from ecm.contracts import CodePurpose, ExceptionKindV2, ReasonCodesPublished, parse_event
from ecm.domain.workflow import Code, CodeList, Refused, check_code
from ecm.domain.workflow import CodePurpose as DomainPurpose
from ecm.simulate.reference import DEFAULT_REASON_CODES, default_reason_codes


def _domain_list(published: ReasonCodesPublished) -> CodeList:
    return CodeList(
        list_id=published.code_list_id, effective_from=published.effective_from,
        effective_to=published.effective_to,
        codes=tuple(Code(code=c.code, purpose=c.purpose.value, note_required=c.note_required,
                         settles=frozenset(k.value for k in c.settles))
                    for c in published.codes),
    )


def test_the_default_list_parses_as_a_reason_codes_published_event() -> None:
    event = parse_event(DEFAULT_REASON_CODES.read_bytes())
    assert isinstance(event, ReasonCodesPublished)
    assert event == default_reason_codes()


def test_every_exception_kind_the_list_names_exists() -> None:
    raw = json.loads(DEFAULT_REASON_CODES.read_text())
    named = {kind for code in raw["codes"] for kind in code.get("settles", ())}
    known = {kind.value for kind in ExceptionKindV2}
    assert named and named <= known, named - known


def test_the_list_has_codes_of_every_purpose() -> None:
    purposes = {code.purpose for code in default_reason_codes().codes}
    assert purposes == set(CodePurpose)


def test_the_issue_s_examples_are_on_the_list() -> None:
    codes = {(c.purpose.value, c.code) for c in default_reason_codes().codes}
    assert {("explanation", "phone_battery_dead"), ("resolution", "evidence_accepted"),
            ("resolution", "reason_not_accepted"), ("alert_outcome", "carer_sent"),
            ("alert_outcome", "client_safe"), ("alert_outcome", "emergency_services_called"),
            ("frustration", "no_answer"), ("frustration", "refused_entry"),
            ("frustration", "client_not_at_home")} <= codes


def test_phone_battery_dead_explains_a_manual_entry_but_not_a_single_handed_visit() -> None:
    codes = _domain_list(default_reason_codes())
    found = check_code(codes, DomainPurpose.EXPLANATION, "phone_battery_dead", None,
                       field="reason_code", kind="manual_entry")
    assert found.code == "phone_battery_dead"
    with pytest.raises(Refused) as refused:
        check_code(codes, DomainPurpose.EXPLANATION, "phone_battery_dead", None,
                   field="reason_code", kind="single_handed")
    assert refused.value.field == "reason_code"


def test_rejecting_an_explanation_needs_a_note() -> None:
    codes = _domain_list(default_reason_codes())
    with pytest.raises(Refused) as refused:
        check_code(codes, DomainPurpose.RESOLUTION, "reason_not_accepted", None,
                   field="resolution_code")
    assert refused.value.field == "note"
