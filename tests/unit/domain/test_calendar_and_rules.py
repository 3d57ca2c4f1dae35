"""Weeks and days in Europe/London across clock changes; versioned contract rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from ecm.domain.calendar import iso_week, local_date, week_days, week_start_utc
from ecm.domain.rules import DEFAULT_POLICY, RuleBook, RuleChange


@pytest.mark.parametrize(
    ("instant", "day", "week"),
    [
        # Sunday 23:30 UTC in summer is Monday 00:30 BST: the next ISO week.
        (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), date(2026, 3, 30), "2026-W14"),
        # Spring change night (29 March 2026): 00:59 UTC is 00:59 GMT, 01:00 UTC is 02:00 BST.
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), date(2026, 3, 29), "2026-W13"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), date(2026, 3, 29), "2026-W13"),
        # Autumn change night (25 October 2026): 01:30 local happens twice.
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), date(2026, 10, 25), "2026-W43"),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), date(2026, 10, 25), "2026-W43"),
        # Sunday 23:30 UTC in winter is still Sunday in London.
        (datetime(2026, 10, 25, 23, 30, tzinfo=UTC), date(2026, 10, 25), "2026-W43"),
        (datetime(2026, 10, 18, 23, 30, tzinfo=UTC), date(2026, 10, 19), "2026-W43"),
    ],
)
def test_local_day_and_iso_week_follow_london_time(instant, day, week):
    assert local_date(instant) == day and iso_week(instant) == week


def test_both_autumn_0130s_are_distinct_instants_on_the_same_local_day():
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    second = first + timedelta(hours=1)  # 01:30 GMT
    assert first != second and local_date(first) == local_date(second) == date(2026, 10, 25)


def test_iso_week_starts_monday_midnight_local():
    assert week_start_utc("2026-W14") == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)
    assert week_start_utc("2026-W44") == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)
    assert week_days("2026-W47")[0] == date(2026, 11, 16)


def change(rules_id, day, lot=None, service=None, **overrides):
    return RuleChange(rules_id, day, overrides, lot, service, event_id=rules_id)


def test_rules_apply_only_from_their_effective_date():
    book = RuleBook()
    book.add(change("r1", date(2026, 6, 1), not_arrived_after_minutes=20))
    assert book.resolve("L1", "home_care", date(2026, 5, 31)) == DEFAULT_POLICY
    assert book.resolve("L1", "home_care", date(2026, 6, 1)).not_arrived_after_minutes == 20


def test_later_change_does_not_rewrite_earlier_days():
    book = RuleBook()
    book.add(change("r1", date(2026, 6, 1), missed_after_minutes=90))
    book.add(change("r2", date(2026, 9, 1), missed_after_minutes=60))
    assert book.resolve(None, None, date(2026, 8, 31)).missed_after_minutes == 90
    assert book.resolve(None, None, date(2026, 9, 1)).missed_after_minutes == 60


def test_lot_and_service_overrides_beat_broader_rules_field_by_field():
    book = RuleBook()
    book.add(change("all", date(2026, 1, 1), gps_distance_limit_m=300, missed_after_minutes=90))
    book.add(change("lot", date(2026, 1, 1), lot="L1", gps_distance_limit_m=500))
    book.add(change("svc", date(2026, 1, 1), service="extra_care",
                    short_visit_ratio=Decimal("0.5")))
    l1 = book.resolve("L1", "home_care", date(2026, 2, 1))
    assert (l1.gps_distance_limit_m, l1.missed_after_minutes) == (500, 90)
    assert book.resolve("L2", "home_care", date(2026, 2, 1)).gps_distance_limit_m == 300
    assert book.resolve("L2", "extra_care", date(2026, 2, 1)).short_visit_ratio == Decimal("0.5")


def test_rule_book_ignores_arrival_order():
    changes = [change("a", date(2026, 1, 1), missed_after_minutes=90),
               change("b", date(2026, 3, 1), missed_after_minutes=80)]
    forward, backward = RuleBook(), RuleBook()
    for c in changes:
        forward.add(c)
    for c in reversed(changes):
        backward.add(c)
    day = date(2026, 4, 1)
    assert forward.resolve(None, None, day) == backward.resolve(None, None, day)


def test_unknown_rule_name_is_rejected():
    with pytest.raises(ValueError, match="unknown rule"):
        change("x", date(2026, 1, 1), not_a_rule=1)
