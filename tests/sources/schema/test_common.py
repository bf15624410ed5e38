"""storybook.sources.schema.common: the types every part of the schema shares (phrases that go inside sentences,
real calendar dates, keys, slugs, a strict model) and the kinds read from the one table of kinds."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from storybook.metrics import kinds
from storybook.sources.schema.common import (
    METRIC_KINDS,
    IsoDate,
    Key,
    MetricKind,
    Phrase,
    StrictModel,
    is_slug,
)


class Sample(StrictModel):
    phrase: Phrase = "have a malignant tumour"
    day: IsoDate = "2026-09-28"
    key: Key = "evaluation/scored.csv"
    kind: MetricKind = "recall"


def _error(**values: object) -> str:
    with pytest.raises(ValidationError) as error:
        Sample.model_validate(values)
    (only,) = error.value.errors()
    return str(only["msg"])


def test_good_values_are_read_and_stripped() -> None:
    sample = Sample.model_validate({"phrase": "  have a harmless tumour ", "key": " test_recall ", "kind": "brier"})
    assert (sample.phrase, sample.key, sample.kind, sample.day) == ("have a harmless tumour", "test_recall", "brier",
                                                                    "2026-09-28")


def test_a_phrase_that_ends_a_sentence_is_refused_with_the_fix() -> None:
    assert _error(phrase="have a malignant tumour.") == (
        "Value error, 'have a malignant tumour.' ends with '.'; this phrase goes inside sentences storybook writes "
        "(\"Of the patients who have a malignant tumour, ...\"), so leave the punctuation out: "
        "'have a malignant tumour'")


@pytest.mark.parametrize(("day", "says"), [
    ("2026-02-29", "is not a date on the calendar; write YYYY-MM-DD"),  # 2026 is no leap year
    ("2026-13-01", "is not a date on the calendar"),
    ("2026-9-28", "should match pattern"),
    ("28/09/2026", "should match pattern"),
])
def test_a_date_must_be_on_the_calendar_in_iso_form(day: str, says: str) -> None:
    assert says in _error(day=day)
    Sample.model_validate({"day": "2024-02-29"})  # a leap day


@pytest.mark.parametrize("key", ["a;b", "{{ x }}", "", "x" * 251])
def test_a_key_holds_only_plain_characters(key: str) -> None:
    _error(key=key)


def test_unknown_keys_are_refused_and_values_frozen() -> None:
    assert _error(phrse="x") == "Extra inputs are not permitted"
    with pytest.raises(ValidationError):
        Sample().phrase = "x"  # type: ignore[misc]


def test_the_kinds_a_story_may_name_are_the_table_of_kinds() -> None:
    names = tuple(k.name for k in kinds.KINDS)
    assert METRIC_KINDS == names == get_args(MetricKind)
    assert "Input should be 'recall'" in _error(kind="sensitivity")


@pytest.mark.parametrize(("name", "slug"), [("breast-cancer-screening", True), ("a", True), ("0-day", True),
                                             ("Upper", False), ("-lead", False), ("x" * 65, False), ("a b", False)])
def test_slugs(name: str, slug: bool) -> None:
    assert is_slug(name) is slug
