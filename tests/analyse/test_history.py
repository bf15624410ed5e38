"""storybook.analyse.history: the stretches each alias spent on each version, from the recorded moves and where
the aliases point now, and what the records cannot tell, on hand-made records.

Days (UTC, milliseconds since 1970): 1 September 2026 is 1,788,220,800,000; every later day adds 86,400,000.
"""

from __future__ import annotations

from storybook.analyse.history import AliasSpan, TimelineEvent, alias_spans
from storybook.resolve.resolved import AliasEvent

SEPT_1 = 1_788_220_800_000
DAY = 86_400_000


def _day(n: int) -> int:
    return SEPT_1 + (n - 1) * DAY


def _spans(spans: tuple[AliasSpan, ...]) -> list[tuple[str, int, int | None, int | None, bool]]:
    return [(s.alias, s.version, s.start_ms, s.end_ms, s.current) for s in spans]


def test_recorded_moves_become_stretches_that_end_at_the_next_move() -> None:
    events = (AliasEvent("champion", 1, _day(1), "t1"), AliasEvent("champion", 2, _day(10), "t2"),
              AliasEvent("challenger", 2, _day(5), "t3"), AliasEvent("challenger", None, _day(10), "t4"),
              AliasEvent("challenger", 3, _day(20), "t5"))
    spans, problems = alias_spans(events, {"champion": 2, "challenger": 3})
    assert _spans(spans) == [
        ("challenger", 2, _day(5), _day(10), False),
        ("challenger", 3, _day(20), None, True),  # the removal on day 10 is a gap, not a stretch
        ("champion", 1, _day(1), _day(10), False),
        ("champion", 2, _day(10), None, True),
    ]
    assert problems == ()
    assert spans[2].describe() == "champion from 1 September 2026 to 10 September 2026"
    assert spans[3].describe() == "champion from 10 September 2026, still now"


def test_an_alias_without_a_record_is_told_as_such() -> None:
    spans, problems = alias_spans((), {"champion": 4})
    assert _spans(spans) == [("champion", 4, None, None, True)]
    assert problems == ("No record says when champion moved to version 4; it carries it now.",)
    assert spans[0].describe() == "champion since a date not recorded, still now"


def test_a_record_the_registry_contradicts_is_called_out() -> None:
    events = (AliasEvent("champion", 1, _day(1), "t1"), AliasEvent("challenger", 2, _day(2), "t2"))
    spans, problems = alias_spans(events, {"champion": 3})
    assert _spans(spans) == [
        ("challenger", 2, _day(2), None, False),  # removed later, on a date not known: not current
        ("champion", 1, _day(1), None, False),    # moved later, on a date not known: no end told
        ("champion", 3, None, None, True),
    ]
    assert problems == (
        "The record says challenger moved to version 2 on 2 September 2026, but no version carries it now: it was "
        "removed without a record, on a date not known.",
        "The last record puts champion on version 1 on 1 September 2026, but the registry now puts it on version "
        "3: it was moved later without a record, on a date not known.",
    )


def test_a_removal_the_registry_contradicts_says_where_the_alias_was() -> None:
    events = (AliasEvent("shadow", 1, _day(1), "t1"), AliasEvent("shadow", None, _day(3), "t2"))
    spans, problems = alias_spans(events, {"shadow": 2})
    assert _spans(spans) == [("shadow", 1, _day(1), _day(3), False), ("shadow", 2, None, None, True)]
    assert problems == ("The last record puts shadow on nowhere (removed) on 3 September 2026, but the registry now "
                        "puts it on version 2: it was moved later without a record, on a date not known.",)


def test_an_event_is_dated_to_the_minute_in_utc() -> None:
    assert TimelineEvent(_day(3) + 9 * 3_600_000 + 30 * 60_000, 2, "champion", "x").when == (
        "3 September 2026, 09:30 UTC")
