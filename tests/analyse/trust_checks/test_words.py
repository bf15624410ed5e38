"""storybook.analyse.trust_checks.words: the shared phrasing of the trust checks (one_in)."""

from __future__ import annotations

import pytest

from storybook.analyse.trust_checks.words import one_in


@pytest.mark.parametrize(("part", "whole", "words"), [
    (0, 12, "none"), (12, 12, "all"), (1, 12, "1 in 12"), (20, 240, "1 in 12"), (1, 2400, "1 in 2,400"),
    (19, 100, "1 in 5"),  # 19% is under one in five: 100 / 19 = 5.3 -> "1 in 5"
    (1, 5, "20%"), (37, 100, "37%"), (999, 1000, "more than 99%"),
])
def test_one_in(part: int, whole: int, words: str) -> None:
    assert one_in(part, whole) == words


def test_numbers_from_100_up_are_told_whole() -> None:
    from storybook.analyse.trust_checks.words import number

    assert [number(x) for x in (0.004, 0.37, 1.0, 47.42, 99.994)] == ["0.004", "0.37", "1.00", "47.42", "99.99"]
    # A guardrail of 100 to 220 and a reading of 148,656.77: no decimals a reader would have to wade through.
    assert [number(x) for x in (100.0, 220.0, 148_656.77, -1_234.5)] == ["100", "220", "148,657", "-1,234"]
