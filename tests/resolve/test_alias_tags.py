"""storybook.resolve.alias_tags: the tags a promotion step writes, named and parsed back; anything else in a
registered model's tags (another tool's tags, an unreadable version, a time past the year 9999) is left out."""

from __future__ import annotations

from storybook.resolve.alias_tags import ALIAS_TAG_PREFIX, REMOVED, alias_events, alias_tag
from storybook.resolve.resolved import AliasEvent

# 1 September 2026 00:00 UTC, and a day later, in milliseconds since 1970.
SEPT_1, SEPT_2 = 1_788_220_800_000, 1_788_307_200_000


def test_the_tag_key_names_the_alias_and_the_time() -> None:
    assert alias_tag("champion", SEPT_1) == "storybook.alias.champion.1788220800000"
    assert alias_tag("champion", SEPT_1).startswith(ALIAS_TAG_PREFIX)


def test_moves_are_read_back_oldest_first_with_removals() -> None:
    tags = {
        alias_tag("champion", SEPT_2): "2",
        alias_tag("challenger", SEPT_2): REMOVED,
        alias_tag("champion", SEPT_1): " 1 ",  # spaces around a version are tolerated
        "mlflow.note.content": "not ours",
        "team": "screening",
    }
    assert alias_events(tags) == (
        AliasEvent("champion", 1, SEPT_1, alias_tag("champion", SEPT_1)),
        AliasEvent("challenger", None, SEPT_2, alias_tag("challenger", SEPT_2)),  # same time: by alias name
        AliasEvent("champion", 2, SEPT_2, alias_tag("champion", SEPT_2)),
    )


def test_records_that_cannot_be_read_are_skipped() -> None:
    tags = {
        alias_tag("champion", SEPT_1): "two",           # not a version number
        alias_tag("a", SEPT_1 + 1): "²",                # a digit to str.isdigit, not a number to int()
        alias_tag("b", SEPT_1 + 2): "-1",               # no negative versions
        alias_tag("c", 253_402_300_800_000): "1",       # 1 January 10000: no calendar date
        "storybook.alias.bad alias.1788220800000": "1",  # a space is not part of an alias name
        "storybook.alias.champion.soon": "1",            # the time is not a number
        alias_tag("d", 253_402_300_799_999): "4",       # the last millisecond of 9999 is still a date
    }
    assert alias_events(tags) == (AliasEvent("d", 4, 253_402_300_799_999, alias_tag("d", 253_402_300_799_999)),)
