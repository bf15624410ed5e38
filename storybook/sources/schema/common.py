"""What every part of the schema shares: the strict base model, text and key types, metric kinds, slugs."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from storybook.metrics.kinds import MetricKindName, kinds_where

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
# The kinds a story may name, and the subsets some fields accept, all read from the one table of kinds
# (storybook.metrics.kinds). At run time each is a Literal built from the table (so pydantic checks and
# documents the allowed names); mypy, which cannot read a Literal built from a tuple, sees names as strings.
METRIC_KINDS: tuple[str, ...] = kinds_where(lambda k: True)
PROPORTION_KINDS = kinds_where(lambda k: k.proportion)
if TYPE_CHECKING:
    MetricKind = MetricKindName
    ProportionKind = str
    IntervalKind = str
    ImportanceMetric = str
else:
    MetricKind = Literal[METRIC_KINDS]
    ProportionKind = Literal[PROPORTION_KINDS]
    IntervalKind = Literal[kinds_where(lambda k: k.interval != "none")]
    ImportanceMetric = Literal[kinds_where(lambda k: k.importance)]
MeasuredOn = Literal["evaluation", "training", "cross_validation", "other"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _phrase(text: str) -> str:
    if text.endswith((".", "!", "?", ",", ";", ":")):
        raise ValueError(f"{text!r} ends with {text[-1]!r}; this phrase goes inside sentences storybook writes "
                         f"(\"Of the patients who have a malignant tumour, ...\"), so leave the punctuation out: "
                         f"{text.rstrip('.!?,;:')!r}")
    return text


Phrase = Annotated[ShortText, AfterValidator(_phrase)]
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=250,
                                       pattern=r"^[A-Za-z0-9_./ -]+$")]


def _real_date(text: str) -> str:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date on the calendar; write YYYY-MM-DD, e.g. 2026-09-28") from None
    return text


IsoDate = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_real_date)]
AliasName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,255}$")]
DEFAULT_IN_USE_ALIAS = "champion"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class KeyedValueError(ValueError):
    """A validation error that knows which key, below the model that raised it, is wrong.

    The loader appends ``path`` to pydantic's location, so a cross-reference error (a criterion naming a slice
    the story does not have) points at the line of that key, not at the top of the file.
    """

    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.path = path


def is_slug(name: str) -> bool:
    return re.fullmatch(SLUG_PATTERN, name) is not None
