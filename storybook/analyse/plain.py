"""Plain language: figures and definitions worded for readers who never open a notebook.

Pure functions: numbers and story vocabulary in, sentences out. Numbers are never typed into a sentence by
hand; they arrive as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from storybook.analyse.classification import Estimate

__all__ = [
    "Vocabulary",
    "definition",
    "format_count",
    "format_date",
    "format_number",
    "format_percent",
    "metric_sentence",
    "per_hundred",
]


@dataclass(frozen=True)
class Vocabulary:
    """How a story names things: 'patients' who 'have a malignant tumour' and are 'flagged'.

    ``positive`` and ``negative`` complete "patients who ..."; ``flagged`` completes "patients who are ...".
    """

    unit: str = "people"
    positive: str = "are positive"
    negative: str = "are negative"
    flagged: str = "flagged"


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


def per_hundred(value: float) -> str:
    return f"{round(value * 100):d} in 100"


def definition(kind: str, words: Vocabulary) -> str:
    """What a metric of this kind measures, in the story's own words."""
    u, pos, neg, flag = words.unit, words.positive, words.negative, words.flagged
    texts = {
        "recall": f"Of the {u} who {pos}, the share who are {flag} (also called recall or sensitivity).",
        "precision": f"Of the {u} who are {flag}, the share who really {pos} (also called precision).",
        "specificity": f"Of the {u} who {neg}, the share the model correctly does not flag (specificity).",
        "accuracy": f"The share of all {u} for whom the model's call is right (accuracy).",
        "false_positive_rate": f"Of the {u} who {neg}, the share who are {flag} anyway.",
        "false_negative_rate": f"Of the {u} who {pos}, the share the model misses.",
        "f1": "A single score that balances finding cases against raising false alarms (F1; 1 is perfect).",
        "roc_auc": f"How well the scores rank {u}: pick one of the {u} who {pos} and one who {neg}: how often the "
                   "first gets the higher score (ROC AUC; 0.5 is a coin toss, 1 is perfect).",
        "brier": "The average squared gap between the predicted chance and what happened "
                 "(Brier score; 0 is perfect, 0.25 is no better than always saying 50%).",
    }
    return texts.get(kind, "A figure the model's authors chose to report.")


def metric_sentence(kind: str, value: float, estimate: Estimate | None, words: Vocabulary) -> str:
    """One sentence telling a metric's value as a natural frequency, with its range when known."""
    u, pos, neg, flag = words.unit, words.positive, words.negative, words.flagged
    if estimate is not None and estimate.low is not None and estimate.high is not None:
        span = (f" (the evaluation supports anything from {round(estimate.low * 100)} "
                f"to {round(estimate.high * 100)} in 100)")
    else:
        span = ""
    share = per_hundred(value)
    texts = {
        "recall": f"Of every 100 {u} who {pos}, about {round(value * 100)} are {flag}{span}.",
        "precision": f"Of every 100 {u} who are {flag}, about {round(value * 100)} really {pos}{span}.",
        "specificity": f"Of every 100 {u} who {neg}, about {round(value * 100)} are correctly not "
                       f"{flag}{span}.",
        "accuracy": f"The model's call is right for about {share} {u}{span}.",
        "false_positive_rate": f"Of every 100 {u} who {neg}, about {round(value * 100)} are {flag} "
                               f"anyway{span}.",
        "false_negative_rate": f"Of every 100 {u} who {pos}, about {round(value * 100)} are missed{span}.",
        "roc_auc": f"Given one of the {u} who {pos} and one who {neg}, the model ranks them the right way "
                   f"round about {share} times{span}.",
        "brier": f"The Brier score is {value:.3f}; lower is better, and always saying 50% would score 0.25.",
        "f1": f"The F1 score is {value:.2f} on a scale from 0 to 1.",
    }
    return texts.get(kind, f"The value is {value:,.3g}.")
