"""Which topic each contract event goes to, and with which key."""

from __future__ import annotations

from ecm.contracts.examples import examples
from ecm.topics import (
    ALERTS,
    EXCEPTIONS,
    OUTCOMES,
    REFERENCE,
    VISIT_EVENTS,
    replaced_by_later,
    route,
)


def test_every_event_type_goes_to_its_topic_keyed_by_its_visit_or_entity() -> None:
    by_topic: dict[str, set[str]] = {}
    for event in examples():
        where = route(event)
        by_topic.setdefault(where.topic, set()).add(type(event).__name__)
        visit_id = getattr(event, "visit_id", None)
        if visit_id is None:
            assert where.topic == REFERENCE
        else:
            assert where.key == visit_id
    assert by_topic[OUTCOMES] == {"VisitOutcomeRecorded", "VisitOutcomeRecordedV2",
                                  "VisitOutcomeRecordedV3"}
    assert by_topic[ALERTS] == {"AlertRaised", "AlertRaisedV2", "AlertResolved",
                                "AlertResolvedV2", "AlertHandled", "AlertHandledV2"}
    assert by_topic[EXCEPTIONS] == {
        "VisitExceptionRaised", "VisitExceptionRaisedV2", "VisitExceptionRaisedV3",
        "VisitExceptionResolved", "VisitExceptionResolvedV2", "VisitExceptionResolvedV3",
        "ExceptionStatusChanged", "TravelGapJudged"}
    assert {"VisitPlannedV2", "CarerCheckedIn", "AlertAcknowledged", "VisitFrustrated"} <= (
        by_topic[VISIT_EVENTS])
    assert {"CarerRegistered", "ContractRulesSetV3", "AlertMonitoringSet"} <= by_topic[REFERENCE]


def test_only_outcome_revisions_and_gap_judgements_are_replaced_by_a_later_record() -> None:
    replaced = {type(e).__name__: replaced_by_later(e) for e in examples()
                if replaced_by_later(e) is not None}
    assert set(replaced) == {"VisitOutcomeRecorded", "VisitOutcomeRecordedV2",
                             "VisitOutcomeRecordedV3", "TravelGapJudged"}
    gap = next(e for e in examples() if type(e).__name__ == "TravelGapJudged")
    assert replaced_by_later(gap) == f"gap:{gap.gap_id}"  # a visit's two carers: two gaps
