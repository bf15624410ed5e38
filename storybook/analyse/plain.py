"""Plain language: figures and definitions worded for readers who never open a notebook.

Pure functions: numbers and story vocabulary in, sentences out. Numbers are never typed into a sentence by
hand; they arrive as arguments.

Wording rules
-------------
A share (a proportion with its 95% interval and the count behind it, an :class:`Estimate`) is told in one of
three ways. :func:`certainty` decides which, with the project's :class:`WordingRules` (``wording:`` in
storybook.yaml):

1. **too few**: fewer than ``min_count`` cases behind the share (its denominator: for recall, the cases that
   are really positive), or none at all: "too few cases to say". Exactly ``min_count`` cases is enough.
2. **tight**: the interval is at most ``tight_width`` wide (high - low, as a share; a width exactly at the
   limit is tight, with 1e-12 allowed for floating-point rounding): "about 7 in 100". At the ends, where
   "about 100" or "about 0" would hide that a few may go the other way, the interval's end is told
   instead: "at least 96 in 100", "at most 3 in 100".
3. **wide**: otherwise: "between 4 and 11 in 100" (the interval's ends, rounded to whole numbers).

A share with no interval (a figure the run logged, with no evaluation set to measure it on) is "unknown":
told as "81 in 100", with no word about how sure it is.

Two shares are compared on their intervals by :func:`compare`: "no clear difference" when the intervals
overlap (ends that touch count as overlap), else "higher" or "lower"; "too few cases to say" when either
side has too few cases. :func:`verdict` turns that into "better" or "worse" for a figure where higher (or
lower) is better. Overlap is a cautious test: it calls fewer differences than a direct test of the
difference would, so "no clear difference" does not mean "the same".

Natural frequencies ("out of 1,000 patients, 112 are flagged") are exact counts and are not worded here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from storybook.metrics.binary import Estimate
from storybook.metrics.kinds import DENOMINATOR_WORDS, KINDS, kind_info

if TYPE_CHECKING:
    from storybook.analyse.classification import SliceRow

__all__ = [
    "COMPARISON_WORDS",
    "RATE_NAMES",
    "Certainty",
    "Comparison",
    "GroupWording",
    "Verdict",
    "Vocabulary",
    "WordingRules",
    "amount_number",
    "amount_phrase",
    "capitalise",
    "certainty",
    "compare",
    "decimal_text",
    "definition",
    "denominator_words",
    "format_count",
    "format_date",
    "format_number",
    "format_percent",
    "full_stop",
    "index_status",
    "join_sentences",
    "kind_phrase",
    "lean_phrase",
    "metric_sentence",
    "mismatch_sentence",
    "nothing_to_count_sentence",
    "per_hundred",
    "point_share",
    "rate_sentence",
    "regression_sentence",
    "share_phrase",
    "slice_wording",
    "stated_threshold_text",
    "verdict",
]

# Short names for the proportions a story reports, to use inside a sentence (from the table of kinds).
RATE_NAMES = {k.name: k.words.rate_name for k in KINDS if k.words.rate_name is not None}

Certainty = Literal["too few", "tight", "wide", "unknown"]
Comparison = Literal["higher", "lower", "no clear difference", "too few cases to say"]
Verdict = Literal["better", "worse", "no clear difference", "too few cases to say"]
TOO_FEW = "too few cases to say"
_EPS = 1e-12
# How each comparison reads after "compared with X: ".
COMPARISON_WORDS: dict[str, str] = {
    "higher": "clearly higher", "lower": "clearly lower", "better": "clearly better", "worse": "clearly worse",
    "no clear difference": "no clear difference, as the ranges overlap", TOO_FEW: TOO_FEW,
}


@dataclass(frozen=True)
class Vocabulary:
    """How a story names things: 'patients' who 'have a malignant tumour' and are 'flagged'.

    ``positive`` and ``negative`` complete "patients who ..."; ``flagged`` completes "patients who are ...".
    """

    unit: str = "cases"
    positive: str = "are positive"
    negative: str = "are negative"
    flagged: str = "flagged"
    amount_unit: str = ""  # a regression story's amounts are counted in this, plural ("points", "beds")


@dataclass(frozen=True)
class WordingRules:
    """When a share is told as "about", as a range, or not at all (see the module docstring)."""

    tight_width: float = 0.10
    min_count: int = 10

    def __post_init__(self) -> None:
        if not 0 <= self.tight_width <= 1:
            raise ValueError(f"tight_width is a share between 0 and 1, not {self.tight_width!r}")
        if self.min_count < 1:
            raise ValueError(f"min_count must be at least 1, not {self.min_count!r}")


DEFAULT_RULES = WordingRules()


def format_percent(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "not available"
    return f"{value * 100:.{digits}f}%"


def format_number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "not available"
    return f"{value:,.{digits}f}"


def format_count(value: int | float) -> str:
    return f"{round(value):,}"


def format_date(timestamp_ms: int | None) -> str:
    if not timestamp_ms:
        return "unknown date"
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return f"{moment.day} {moment:%B %Y}"


def capitalise(text: str) -> str:
    """``text`` with its first letter made upper case, the rest untouched ("the model" -> "The model")."""
    return text[:1].upper() + text[1:]


def in_sentence(label: str) -> str:
    """A label as said inside a sentence ("Age band" -> "age band"); a label with a capital after its first
    letter (an acronym or a name: "BMI", "Body mass index (BMI)", "New York region") is kept as written."""
    return label if any(ch.isupper() for ch in label[1:]) else label.lower()


def lower_first(text: str) -> str:
    """``text`` continuing a sentence: its first letter lower case ("The model ..." -> "the model ..."), unless
    its first word has a capital after its first letter (an acronym or a name: "BMI rose" stays as written)."""
    first_word = text.split(" ", 1)[0]
    return text if any(ch.isupper() for ch in first_word[1:]) else text[:1].lower() + text[1:]


def slice_heading(label: str) -> str:
    """The heading of one slice's part of a page: "By age band", "By BMI"."""
    return f"By {in_sentence(label)}"


def merged_groups_sentence(label: str, shown: int, merged: int) -> str:
    """What the last row of a slice table counts, when the smaller groups are counted together there."""
    return (f"{label} has {format_count(shown + merged)} groups: the {format_count(shown)} largest are shown one "
            f"by one, and the other {format_count(merged)} are counted together in the last row.")


def full_stop(text: str) -> str:
    """``text`` as the end of a sentence: one full stop, not two when the text (often an author's phrase or a
    value from MLflow) already ends with one, or with "!", "?" or "…"."""
    stripped = text.rstrip()
    return stripped if stripped.endswith((".", "!", "?", "…")) else f"{stripped}."


def join_sentences(*sentences: str) -> str:
    """Sentences joined with one space, each ended by :func:`full_stop`; empty ones left out."""
    return " ".join(full_stop(s) for s in sentences if s.strip())


def per_hundred(value: float) -> str:
    return f"{round(value * 100):d} in 100"


def point_share(value: float) -> str:
    """A share with no interval: "81 in 100". Near the ends it is told per 1,000, so that a figure below 1 never
    reads as certainty ("998 in 1,000", "more than 999 in 1,000"); only exactly 1 (or 0) is "100 in 100"."""
    if not 0 <= value <= 1:
        return f"{value:,.4g} (as logged; not a share between 0 and 1)"
    hundred = round(value * 100)
    if 0 < hundred < 100 or value in (0.0, 1.0):
        return f"{hundred} in 100"
    thousand = round(value * 1000)
    if 0 < thousand < 1000:
        return f"{thousand:,} in 1,000"
    return "more than 999 in 1,000" if value > 0.5 else "fewer than 1 in 1,000"


# --- the wording rules ---------------------------------------------------------------------------------


def certainty(estimate: Estimate | None, rules: WordingRules = DEFAULT_RULES) -> Certainty:
    """Which of the three wordings a share gets: "too few", "tight" or "wide" ("unknown" without interval)."""
    if estimate is None:
        return "unknown"
    if estimate.value is None or estimate.n < rules.min_count:
        return "too few"
    width = estimate.width
    if width is None:
        return "unknown"
    return "tight" if width <= rules.tight_width + _EPS else "wide"


def share_phrase(estimate: Estimate, rules: WordingRules = DEFAULT_RULES, *, value: float | None = None) -> str:
    """"about 7 in 100", "between 4 and 11 in 100" or "too few cases to say" (see the module docstring).

    ``value`` overrides the estimate's own value for the "about" figure (e.g. the value the run logged).
    """
    told = certainty(estimate, rules)
    if told == "too few":
        return TOO_FEW
    centre = estimate.value if value is None else value
    assert centre is not None
    if told == "unknown":
        return point_share(centre)
    low, high = estimate.low, estimate.high
    assert low is not None and high is not None
    if told == "wide" and round(low * 100) != round(high * 100):
        return f"between {round(low * 100)} and {round(high * 100)} in 100"
    about = round(centre * 100)
    if about >= 100:
        return f"at least {math.floor(low * 100 + _EPS)} in 100"
    if about <= 0:
        return f"at most {math.ceil(high * 100 - _EPS)} in 100"
    return f"about {about} in 100"


def compare(first: Estimate, second: Estimate, rules: WordingRules | None = None) -> Comparison | None:
    """The one comparison rule: is ``first`` clearly higher or lower than ``second``, judged on their 95%
    intervals? "no clear difference" when they overlap (ends that touch count as overlap). With ``rules``,
    "too few cases to say" when either has fewer than ``rules.min_count`` cases. None without intervals."""
    if rules is not None and (first.n < rules.min_count or second.n < rules.min_count):
        return "too few cases to say"
    if None in (first.value, first.low, first.high, second.value, second.low, second.high):
        return None
    a_low, a_high = first.low or 0.0, first.high or 0.0
    b_low, b_high = second.low or 0.0, second.high or 0.0
    if a_low <= b_high and b_low <= a_high:
        return "no clear difference"
    return "higher" if a_low > b_high else "lower"


def verdict(current: Estimate, previous: Estimate, *, higher_is_better: bool = True,
            rules: WordingRules | None = None) -> Verdict | None:
    """:func:`compare`, told as "better" or "worse" for a figure where higher (or lower) is better."""
    result = compare(current, previous, rules)
    if result == "higher" or result == "lower":
        return "better" if (result == "higher") == higher_is_better else "worse"
    return result


# --- sentences -----------------------------------------------------------------------------------------


def _fill(template: str, words: Vocabulary, **more: object) -> str:
    return template.format(u=words.unit, pos=words.positive, neg=words.negative, flag=words.flagged, **more)


def kind_phrase(kind: str, words: Vocabulary) -> str:
    """What a figure of this kind counts, to follow "the": "share of patients who ... that are flagged"."""
    info = kind_info(kind)
    return kind if info is None or info.words.phrase is None else _fill(info.words.phrase, words)


def definition(kind: str, words: Vocabulary) -> str:
    """What a metric of this kind measures, in the story's own words."""
    info = kind_info(kind) or kind_info("other")
    assert info is not None
    return _fill(info.words.definition, words)


def denominator_words(kind: str, words: Vocabulary) -> str:
    """Who a share of this kind is counted among: "patients who have a malignant tumour"."""
    info = kind_info(kind)
    return _fill(DENOMINATOR_WORDS[info.denominator if info is not None else "all"], words)


def _too_few_sentence(n: int, among: str, needed: int) -> str:
    """Why a figure is not told: how many of ``among`` ("patients who have a malignant tumour") the evaluation
    held, in the right number (none, one, or more), and how many it takes."""
    if n == 0:
        held = f"none of the {among} were in the evaluation"
    elif n == 1:
        held = f"only one of the {among} was in the evaluation"
    else:
        held = f"only {n:,} {among} were in the evaluation"
    return f"Too few cases to say: {held}, and at least {needed:,} are needed."


def rate_sentence(kind: str, estimate: Estimate | None, words: Vocabulary,
                  rules: WordingRules = DEFAULT_RULES, *, value: float | None = None) -> str:
    """One sentence for a kind with an interval (a share, or ROC AUC), worded by the rules, saying how many
    cases it was measured on. ``value`` is the logged figure when there is no estimate."""
    info = kind_info(kind)
    if info is None or info.words.sentence is None:
        raise ValueError(f"not a share: {kind}")
    among = denominator_words(kind, words)
    if estimate is None:
        if value is None:
            raise ValueError("a rate sentence needs an estimate or a value")
        estimate = Estimate(value, None, None, rules.min_count)
        counted = ""
    else:
        counted = f" (measured on {estimate.n:,} {among})"
    if certainty(estimate, rules) == "too few":
        return _too_few_sentence(estimate.n, among, rules.min_count)
    amount = share_phrase(estimate, rules, value=value)
    return f"{_fill(info.words.sentence, words, amount=amount)}{counted}."


# Where a figure was measured, when not on the story's evaluation set: (before the sentence, after it).
_MEASURED_ELSEWHERE = {
    "training": ("On the training data (the {u} the model learnt from), ",
                 " This is not a test on new {u}: expect it to do less well on them."),
    "cross_validation": ("In cross-validation on the training data, ",
                         " This was not measured on the evaluation set."),
    "other": ("As the run logged it, ", " storybook cannot tell which {u} it was measured on."),
}


def metric_sentence(kind: str, value: float, estimate: Estimate | None, words: Vocabulary,
                    rules: WordingRules = DEFAULT_RULES, *, measured_on: str = "evaluation") -> str:
    """One sentence telling a metric's value, worded by the rules when it is a share with an interval.

    A figure measured elsewhere than the story's evaluation set (``measured_on`` training, cross_validation or
    other) is told as logged, never with an interval or a count, and the sentence says where it comes from."""
    if measured_on != "evaluation":
        before, after = _MEASURED_ELSEWHERE[measured_on]
        told = metric_sentence(kind, value, None, words, rules)
        return f"{before.format(u=words.unit)}{lower_first(told)}{after.format(u=words.unit)}"
    info = kind_info(kind) or kind_info("other")
    assert info is not None
    if info.task == "regression":  # an amount (a miss, a lean) or R², not a share of a confusion table
        return regression_sentence(kind, value, estimate, words, rules)
    if info.words.sentence is not None:  # a kind with an interval
        return rate_sentence(kind, estimate, words, rules, value=value)
    assert info.words.value_sentence is not None  # the table holds one for each kind without an interval
    return _fill(info.words.value_sentence, words, value=value)


def nothing_to_count_sentence(kind: str, logged: float, words: Vocabulary) -> str:
    """What the page says of a logged share the evaluation set has nothing to count among (no case flagged, for
    precision): scikit-learn writes 0 there, which is no figure of the model."""
    info = kind_info(kind)
    if info is not None and info.denominator != "all":
        missing = f"There are no {denominator_words(kind, words)} in the evaluation"
    else:  # ROC AUC: it ranks the cases of one outcome against the other's
        missing = _fill("The evaluation does not hold both {u} who {pos} and {u} who {neg}", words)
    return (f"{missing}, so this figure cannot be told. The run logged {logged:.4f}, but there was nothing to count "
            "it among.")


def mismatch_sentence(logged: float, recomputed: float, cause: str) -> str:
    """What the page says when the evaluation set does not reproduce a logged figure (it tells the set's)."""
    return (f"The run logged {logged:.4f} for this figure, but the evaluation set gives {recomputed:.4f}; the likely "
            f"cause is {cause}. This page tells the figure from the evaluation set.")


@dataclass(frozen=True)
class GroupWording:
    """One group of a slice in words: each share by the rules, and one sentence with its count and how it
    compares with all cases (``versus_all``, by :func:`compare`)."""

    value: str
    shares: dict[str, str]
    sentence: str
    versus_all: Comparison | None


def slice_wording(rows: tuple[SliceRow, ...], overall: SliceRow | None, kind: str, label: str,
                  words: Vocabulary, rules: WordingRules = DEFAULT_RULES) -> dict[str, GroupWording]:
    """Each group of one slice (e.g. tumour size: small, medium, large), told by the rules.

    ``kind`` (one of PROPORTION_KINDS) is the share the sentence tells; ``label`` names the slice.
    """
    told: dict[str, GroupWording] = {}
    for row in rows:
        estimate = row.rates[kind]
        sentence = rate_sentence(kind, estimate, words, rules)
        versus = compare(estimate, overall.rates[kind], rules) if overall is not None else None
        if versus in ("higher", "lower"):
            sentence = f"{sentence[:-1]}; that is {COMPARISON_WORDS[str(versus)]} than for all {words.unit}."
        elif versus == "no clear difference":
            sentence = f"{sentence[:-1]}; no clear difference from all {words.unit}, as the ranges overlap."
        told[row.value] = GroupWording(
            value=row.value,
            shares={k: share_phrase(e, rules) for k, e in row.rates.items()},
            sentence=(f"{row.value} ({in_sentence(label)}, {row.n:,} {words.unit}): "
                      f"{lower_first(sentence)}"),
            versus_all=versus,
        )
    return told


# --- amounts: a regression story's misses, leans and costs ----------------------------------------------
# An amount with its 95% interval is told like a share: "too few cases to say" under min_count cases; "about
# 44 points" when the interval is at most tight_width of the amount's size wide (10% by default); otherwise
# "between 40 and 48 points". Numbers keep three significant figures of the largest of value, low and high.


def amount_number(value: float, scale: float | None = None) -> str:
    """An amount with at most three significant figures (of ``scale`` when given), thousands separated:
    "44.3", "1,234", "0.0123"."""
    reference = abs(value if scale is None else scale)
    digits = 0 if reference == 0 or not math.isfinite(reference) else max(0, 2 - math.floor(math.log10(reference)))
    rounded = round(value, digits)
    text = f"{0.0 if rounded == 0 else rounded:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _amount_ends(estimate: Estimate, rules: WordingRules) -> tuple[str, str, str, bool] | None:
    """The value, low and high as told, and whether the interval is tight; None without an interval."""
    value, low, high = estimate.value, estimate.low, estimate.high
    assert value is not None
    if low is None or high is None:
        return None
    scale = max(abs(value), abs(low), abs(high))
    told = amount_number(value, scale), amount_number(low, scale), amount_number(high, scale)
    return (*told, told[1] == told[2] or high - low <= rules.tight_width * scale + _EPS)


def amount_phrase(estimate: Estimate, unit: str, rules: WordingRules = DEFAULT_RULES) -> str:
    """"about 44 points", "between 40 and 48 points", "44 points" (no interval) or "too few cases to say"."""
    if estimate.value is None or estimate.n < rules.min_count:
        return TOO_FEW
    ends = _amount_ends(estimate, rules)
    if ends is None:
        return f"{amount_number(estimate.value)} {unit}"
    value, low, high, tight = ends
    return f"about {value} {unit}" if tight else f"between {low} and {high} {unit}"


def lean_phrase(estimate: Estimate, unit: str, rules: WordingRules = DEFAULT_RULES, *, high: str = "high",
                low: str = "low") -> str:
    """A signed amount (positive: ``high``) said with its direction: "about 5 points high", "between 2 and 8
    points low", "between 3 points low and 5 points high" (the interval holds 0), or "too few cases to say"."""
    value = estimate.value
    if value is None or estimate.n < rules.min_count:
        return TOO_FEW

    def way(x: float) -> str:
        return high if x > 0 else low

    if estimate.low is None or estimate.high is None:
        return "no way at all" if value == 0 else f"{amount_number(abs(value))} {unit} {way(value)}"
    if estimate.low <= 0 <= estimate.high:
        scale = max(abs(value), abs(estimate.low), abs(estimate.high))
        if estimate.low == estimate.high == 0:
            return "no way at all"
        return (f"between {amount_number(-estimate.low, scale)} {unit} {low} and "
                f"{amount_number(estimate.high, scale)} {unit} {high}")
    magnitude = Estimate(abs(value), min(abs(estimate.low), abs(estimate.high)),
                         max(abs(estimate.low), abs(estimate.high)), estimate.n)
    return f"{amount_phrase(magnitude, unit, rules)} {way(value)}"


def regression_sentence(kind: str, value: float, estimate: Estimate | None, words: Vocabulary,
                        rules: WordingRules = DEFAULT_RULES) -> str:
    """One sentence for a regression kind: an amount in ``words.amount_unit``, the lean of the forecasts, R²
    against always forecasting the average, or the share of outcomes inside the forecasts' ranges.
    ``value`` is the logged figure, told as logged when there is no estimate."""
    info = kind_info(kind)
    if info is None or info.task != "regression" or info.words.sentence is None:
        raise ValueError(f"not a regression figure: {kind}")
    unit = words.amount_unit
    if estimate is None:
        estimate = Estimate(value, None, None, rules.min_count)
        counted = ""
    else:
        counted = f" (measured on {estimate.n:,} {words.unit})"
    if estimate.value is None or estimate.n < rules.min_count:
        return _too_few_sentence(estimate.n, words.unit, rules.min_count)
    if kind == "mean_error":
        amount = lean_phrase(estimate, unit, rules)
    elif kind == "interval_coverage":
        amount = share_phrase(estimate, rules, value=value)
    elif kind == "r2":
        low = estimate.low if estimate.low is not None else estimate.value
        high = estimate.high if estimate.high is not None else estimate.value
        # Two decimals each, like every score told on a scale to 1 ("0.40 to 0.61", never "0.4 to 0.61").
        r2 = f"R² {value:.2f}" + ("" if estimate.low is None or estimate.high is None else
                                  f", 95% range {low:.2f} to {high:.2f}")
        r2 += f"; measured on {estimate.n:,} {words.unit}" if counted else ""
        if high < 0:
            return (f"The forecasts do worse than always forecasting the average: their squared misses are "
                    f"larger ({r2}).")
        if low <= 0:
            return f"The forecasts are not clearly better than always forecasting the average ({r2})."
        amount = share_phrase(Estimate(value, estimate.low, estimate.high, estimate.n), rules)
        return f"{_fill(info.words.sentence, words, amount=amount)} ({r2})."
    else:
        amount = amount_phrase(Estimate(value, estimate.low, estimate.high, estimate.n), unit, rules)
    return f"{_fill(info.words.sentence, words, amount=amount)}{counted}."


def decimal_text(value: Decimal) -> str:
    """``value`` in plain decimals, without trailing zeros (0.50 as "0.5", 1E-7 as "0.0000001")."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def stated_threshold_text(threshold: float) -> str:
    """A threshold the story or the run states, printed exactly (0.5 as "0.5", never rounded to another)."""
    return decimal_text(Decimal(repr(float(threshold))))


def index_status(status: str, as_of: str) -> str:
    """A story's status on the index, before the error message of a story that did not build this time."""
    if status == "built":
        return f"Up to date as of {as_of} (not rebuilt this time)" if as_of else "Up to date"
    if status == "stale":
        return f"Showing the last good version; {f'the build of {as_of}' if as_of else 'this build'} failed"
    return f"Not built (build of {as_of})" if as_of else "Not built"
