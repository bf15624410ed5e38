"""The one table of metric kinds: for each kind a story may report, what it IS and how it is said.

Every other place that needs to know about a kind reads :data:`KINDS`: the story schema's allowed values, which
kinds are shares with a Wilson interval, which get an interval at all, which permutation importance may measure,
which the prose lints treat as score-like, which way is better, and the wording templates of the pages. Adding
a kind is one row here (and, for the schema, one name in :data:`MetricKindName`: a typed ``Literal`` cannot be
built from a tuple, so the import-time check below fails until both agree).

A leaf: it imports only the other metrics modules (binary, multiclass, regression). A row is *flagged* when its
score is at or above the threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from storybook.metrics import multiclass
from storybook.metrics.binary import Confusion, Estimate, auc_estimate, brier_score, confusion_at, proportion
from storybook.metrics.multiclass import MulticlassScores
from storybook.metrics.regression import RegressionFigures, RegressionScores, figures, interval_coverage

__all__ = [
    "DENOMINATOR_WORDS",
    "INTERVAL_KINDS",
    "KINDS",
    "TASKS",
    "FromSet",
    "KindWords",
    "MetricKindInfo",
    "MetricKindName",
    "Task",
    "kind_allowed",
    "kind_info",
    "kinds_of",
    "kinds_where",
    "rate",
]

Task = Literal["binary", "multiclass", "regression"]  # the story's evaluation.task
TASKS: tuple[Task, ...] = get_args(Task)
# Wilson for a share; Hanley-McNeil alone, DeLong paired; a seeded percentile bootstrap over cases (from_set);
# none
Interval = Literal["wilson", "auc", "bootstrap", "none"]
Denominator = Literal["positives", "negatives", "flagged", "not_flagged", "all"]
Labels = npt.NDArray[np.bool_]
Scores = npt.NDArray[np.float64]
# The figure on a scored set: (labels, scores, threshold) -> the figure, with its interval where one applies.
Compute = Callable[[Labels, Scores, float], Estimate]
# (counted, among) from the confusion counts at the threshold, for a kind that is a ratio of counts.
Counts = Callable[[Confusion], tuple[int, int]]
# The figure of a multiclass or regression kind on that task's scored arrays (the function checks the type).
FromSet = Callable[[MulticlassScores | RegressionScores], Estimate]

# Who a figure is counted among, to follow "measured on 1,234 ...". {u} is the unit ("patients"), {pos} and
# {neg} complete "patients who ..." and {flag} completes "patients who are ...".
DENOMINATOR_WORDS: Mapping[Denominator, str] = {
    "positives": "{u} who {pos}", "negatives": "{u} who {neg}", "flagged": "{u} who are {flag}",
    "not_flagged": "{u} who are not {flag}", "all": "{u}",
}


@dataclass(frozen=True)
class KindWords:
    """How a kind is said. Templates take {u}, {pos}, {neg}, {flag} (see DENOMINATOR_WORDS), and {amount}
    (a share phrase, "82 in 100") or {value} (the figure)."""

    definition: str  # what a figure of this kind measures, a full sentence
    phrase: str | None = None  # to follow "the": what the figure counts; None: the kind's name
    rate_name: str | None = None  # a share's short name inside a sentence ("miss rate")
    sentence: str | None = None  # with {amount}: the figure told with its range (kinds with an interval)
    value_sentence: str | None = None  # with {value}: the figure told as it is (kinds without one)
    short_name: str | None = None  # the figure's name on the drivers page


@dataclass(frozen=True)
class MetricKindInfo:
    name: str
    task: Task  # "other" is the one kind every task may use (see kind_allowed)
    higher_is_better: bool | None  # None: storybook cannot tell (a kind it does not know)
    interval: Interval
    denominator: Denominator
    words: KindWords
    counts: Counts | None = None  # a ratio of confusion counts (the shares and F1)
    compute: Compute | None = None  # any other binary figure computed from the scored set
    from_set: FromSet | None = None  # a multiclass or regression figure computed from that task's scores
    importance: bool = False  # permutation importance may measure its loss
    score_like: bool = False  # the lints ask for something to compare it with (its number means little alone)

    @property
    def proportion(self) -> bool:
        """A binary share of a group of rows, counted from the confusion table and told with its Wilson
        interval. A share of another task (also ``"wilson"``) is computed from that task's scores (from_set)."""
        return self.interval == "wilson" and self.task == "binary"

    @property
    def computable(self) -> bool:
        return self.counts is not None or self.compute is not None or self.from_set is not None

    def measure_set(self, scores: MulticlassScores | RegressionScores) -> Estimate:
        """The figure of a multiclass or regression kind on that task's scores."""
        if self.from_set is None:
            raise ValueError(f"storybook cannot compute a figure of kind {self.name!r} from a scored set")
        return self.from_set(scores)

    def from_confusion(self, confusion: Confusion) -> Estimate:
        """The figure from confusion counts (a Wilson interval for a share); only for kinds with ``counts``."""
        if self.counts is None:
            raise ValueError(f"{self.name} is not computed from confusion counts")
        counted, among = self.counts(confusion)
        if self.proportion:
            return proportion(counted, among)
        return Estimate(counted / among if among else None, None, None, confusion.n)

    def measure(self, labels: npt.ArrayLike, scores: npt.ArrayLike, threshold: float) -> Estimate:
        """The figure on a scored set (rows at or above ``threshold`` are flagged)."""
        truth = np.asarray(labels, dtype=bool)
        values = np.asarray(scores, dtype=np.float64)
        if self.counts is not None:
            return self.from_confusion(confusion_at(truth, values, threshold))
        if self.compute is not None:
            return self.compute(truth, values, threshold)
        raise ValueError(f"storybook cannot compute a figure of kind {self.name!r}")


def _brier(labels: Labels, scores: Scores, _threshold: float) -> Estimate:
    return Estimate(brier_score(labels, scores), None, None, int(labels.size))


def _regression(scores: MulticlassScores | RegressionScores) -> RegressionScores:
    if not isinstance(scores, RegressionScores):
        raise TypeError(f"a regression figure needs a regression scored set, not {type(scores).__name__}")
    return scores


def _figure(name: str) -> FromSet:
    """A headline figure of a regression set, with its bootstrap interval (one resampling serves them all)."""
    def from_set(scores: MulticlassScores | RegressionScores) -> Estimate:
        found = getattr(figures(_regression(scores)), name)
        assert isinstance(found, Estimate)
        return found
    assert name in RegressionFigures.__dataclass_fields__
    return from_set


def _coverage(scores: MulticlassScores | RegressionScores) -> Estimate:
    regression = _regression(scores)
    return interval_coverage(regression) or Estimate(None, None, None, regression.n)


def _of_classes(figure: Callable[[MulticlassScores], Estimate]) -> FromSet:
    """A multiclass figure as a row's ``from_set`` (it checks it was handed a multiclass set)."""
    def from_set(scores: MulticlassScores | RegressionScores) -> Estimate:
        if not isinstance(scores, MulticlassScores):
            raise TypeError(f"a multiclass figure needs a multiclass scored set, not {type(scores).__name__}")
        return figure(scores)
    return from_set


_SHARE_OF = "share of {u} "
# Regression sentences: {amount} is the figure told with its range and its amount_unit ("about 12 points").
KINDS: tuple[MetricKindInfo, ...] = (
    MetricKindInfo(
        "recall", "binary", True, "wilson", "positives", counts=lambda c: (c.tp, c.positives), importance=True,
        words=KindWords(
            definition="Of the {u} who {pos}, the share who are {flag} (also called recall or sensitivity).",
            phrase=_SHARE_OF + "who {pos} that are {flag}", rate_name="share of cases found",
            sentence="Of the {u} who {pos}, {amount} are {flag}", short_name="recall")),
    MetricKindInfo(
        "precision", "binary", True, "wilson", "flagged", counts=lambda c: (c.tp, c.flagged), importance=True,
        words=KindWords(
            definition="Of the {u} who are {flag}, the share who really {pos} (also called precision).",
            phrase=_SHARE_OF + "{flag} who really {pos}", rate_name="share of flags that are right",
            sentence="Of the {u} who are {flag}, {amount} really {pos}", short_name="precision")),
    MetricKindInfo(
        "specificity", "binary", True, "wilson", "negatives", counts=lambda c: (c.tn, c.negatives),
        importance=True,
        words=KindWords(
            definition="Of the {u} who {neg}, the share the model correctly does not flag (specificity).",
            phrase=_SHARE_OF + "who {neg} that are left alone", rate_name="share of non-cases left alone",
            sentence="Of the {u} who {neg}, {amount} are correctly not {flag}", short_name="specificity")),
    MetricKindInfo(
        "accuracy", "binary", True, "wilson", "all", counts=lambda c: (c.tp + c.tn, c.n), importance=True,
        score_like=True,
        words=KindWords(
            definition="The share of all {u} for whom the model's call is right (accuracy).",
            phrase=_SHARE_OF + "for whom the model's call is right", rate_name="share of calls that are right",
            sentence="The model's call is right for {amount} {u}", short_name="accuracy")),
    MetricKindInfo(
        "f1", "binary", True, "none", "all", counts=lambda c: (2 * c.tp, 2 * c.tp + c.fp + c.fn),
        importance=True, score_like=True,
        words=KindWords(
            definition="A single score that balances finding cases against raising false alarms "
                       "(F1; 1 is perfect).",
            value_sentence="The F1 score is {value:.2f} on a scale from 0 to 1.", short_name="F1")),
    MetricKindInfo(
        "roc_auc", "binary", True, "auc", "all", compute=lambda labels, scores, _t: auc_estimate(labels, scores),
        importance=True, score_like=True,
        words=KindWords(
            definition="How well the scores rank {u}: pick one of the {u} who {pos} and one of those who {neg}: "
                       "how often the first gets the higher score (ROC AUC; 0.5 is a coin toss, 1 is perfect).",
            phrase="ranking quality (how often one of the {u} who {pos} scores above one of those who {neg})",
            sentence="Given one of the {u} who {pos} and one of those who {neg}, the model ranks them the right way "
                     "round {amount} times", short_name="ranking quality (AUC)")),
    MetricKindInfo(
        "false_positive_rate", "binary", False, "wilson", "negatives", counts=lambda c: (c.fp, c.negatives),
        words=KindWords(
            definition="Of the {u} who {neg}, the share who are {flag} anyway.",
            phrase=_SHARE_OF + "who {neg} that are {flag} anyway", rate_name="false alarm rate",
            sentence="Of the {u} who {neg}, {amount} are {flag} anyway")),
    MetricKindInfo(
        "false_negative_rate", "binary", False, "wilson", "positives", counts=lambda c: (c.fn, c.positives),
        words=KindWords(
            definition="Of the {u} who {pos}, the share the model misses.",
            phrase=_SHARE_OF + "who {pos} that are missed", rate_name="miss rate",
            sentence="Of the {u} who {pos}, {amount} are missed")),
    MetricKindInfo(
        "brier", "binary", False, "none", "all", compute=_brier, importance=True, score_like=True,
        words=KindWords(
            definition="The average squared gap between the predicted chance and what happened "
                       "(Brier score; 0 is perfect, 0.25 is no better than always saying 50%).",
            value_sentence="The Brier score is {value:.3f}; lower is better, and always saying 50% would score "
                           "0.25.", short_name="calibration (Brier score)")),
    MetricKindInfo(
        "mae", "regression", False, "bootstrap", "all", from_set=_figure("mae"), importance=True,
        words=KindWords(
            definition="How far a forecast lands from what happened, on average, whichever way it misses "
                       "(mean absolute error).",
            phrase="average miss", sentence="On average, the forecasts miss by {amount}, whichever way",
            short_name="average miss")),
    MetricKindInfo(
        "rmse", "regression", False, "bootstrap", "all", from_set=_figure("rmse"), score_like=True,
        importance=True,
        words=KindWords(
            definition="Like the average miss, but large misses count for more: the square root of the average "
                       "squared miss (root mean squared error).",
            phrase="typical miss, large misses counting more",
            sentence="Counting large misses more, the typical miss is {amount}", short_name="RMSE")),
    MetricKindInfo(
        "median_absolute_error", "regression", False, "bootstrap", "all",
        from_set=_figure("median_absolute_error"),
        words=KindWords(
            definition="Half of the forecasts miss by less than this, half by more (median absolute error).",
            phrase="median miss",
            sentence="The median miss (half of the forecasts miss by less, half by more) is {amount}",
            short_name="median miss")),
    MetricKindInfo(
        "mean_error", "regression", None, "bootstrap", "all", from_set=_figure("mean_error"),
        words=KindWords(
            definition="The average of forecast minus what happened: above 0 when forecasts run high, below 0 "
                       "when they run low; 0 is no lean either way (mean error, or bias).",
            phrase="average lean of the forecasts", sentence="On average the forecasts run {amount}",
            short_name="bias")),
    MetricKindInfo(
        "r2", "regression", True, "bootstrap", "all", from_set=_figure("r2"), score_like=True,
        words=KindWords(
            definition="How much smaller the forecasts' squared misses are than those of always forecasting "
                       "the average (R²; 1 is perfect, 0 is no better than the average, below 0 is worse).",
            phrase="gain over always forecasting the average",
            sentence="Compared with always forecasting the average, the forecasts cut the squared misses by "
                     "{amount}", short_name="R²")),
    MetricKindInfo(
        "interval_coverage", "regression", None, "wilson", "all", from_set=_coverage,
        words=KindWords(
            definition="The share of {u} whose outcome falls inside the forecast's stated range (coverage "
                       "of the prediction interval; it should be close to the range's stated level).",
            phrase=_SHARE_OF + "whose outcome falls inside the forecast's range",
            sentence="What happened falls inside the forecast's range for {amount} {u}",
            short_name="interval coverage")),
    MetricKindInfo(
        "multiclass_accuracy", "multiclass", True, "wilson", "all", from_set=_of_classes(multiclass.accuracy),
        score_like=True, importance=True,
        words=KindWords(
            definition="The share of all {u} whose class the model calls right (accuracy).",
            phrase=_SHARE_OF + "whose class the model calls right",
            sentence="The model calls the class right for {amount} {u}", short_name="accuracy")),
    MetricKindInfo(
        "balanced_accuracy", "multiclass", True, "bootstrap", "all",
        from_set=_of_classes(multiclass.balanced_accuracy), score_like=True,
        words=KindWords(
            definition="For each class, the share of its {u} the model finds, averaged over the classes so that "
                       "each class counts the same however many {u} it has (balanced accuracy).",
            phrase="share of each class's {u} the model finds, averaged over the classes",
            sentence="Averaged over the classes, the share of a class's {u} that the model finds is {amount}",
            short_name="balanced accuracy")),
    MetricKindInfo(
        "macro_f1", "multiclass", True, "none", "all", from_set=_of_classes(multiclass.macro_f1), score_like=True,
        words=KindWords(
            definition="For each class, a score that balances finding its {u} against wrong calls of it (F1), "
                       "averaged over the classes (macro F1; 1 is perfect).",
            value_sentence="The macro F1 score is {value:.2f} on a scale from 0 to 1 (each class's balance of "
                           "finding its {u} against wrong calls, averaged over the classes).",
            short_name="macro F1")),
    MetricKindInfo(
        "log_loss", "multiclass", False, "none", "all", from_set=_of_classes(multiclass.log_loss), score_like=True,
        importance=True,
        words=KindWords(
            definition="How sure the model was of the true class of each of the {u}: the average of minus the "
                       "natural logarithm of the chance it gave that class (log loss; 0 is perfect).",
            value_sentence="The log loss is {value:.3f}; lower is better, and 0 would mean the model gave each "
                           "of the {u} a 100% chance of their true class.",
            short_name="log loss")),
    MetricKindInfo(
        "other", "binary", None, "none", "all", score_like=True,
        words=KindWords(definition="A figure the model's authors chose to report.",
                        value_sentence="The value is {value:,.3g}.")),
)

# The names a story may write under ``metrics: - kind:``. Keep in step with KINDS (checked below).
MetricKindName = Literal[
    "recall", "precision", "specificity", "accuracy", "f1", "roc_auc", "false_positive_rate",
    "false_negative_rate", "brier", "mae", "rmse", "median_absolute_error", "mean_error", "r2",
    "interval_coverage", "multiclass_accuracy", "balanced_accuracy", "macro_f1", "log_loss", "other",
]


def kinds_where(test: Callable[[MetricKindInfo], bool]) -> tuple[str, ...]:
    """The names of the kinds that pass ``test``, in the table's order (read at call time)."""
    return tuple(k.name for k in KINDS if test(k))


def kind_info(name: str) -> MetricKindInfo | None:
    return next((k for k in KINDS if k.name == name), None)


def kind_allowed(name: str, task: Task) -> bool:
    """Whether a story of ``task`` may report a figure of kind ``name`` ("other" fits every task)."""
    info = kind_info(name)
    return info is not None and (info.name == "other" or info.task == task)


def kinds_of(task: Task) -> tuple[str, ...]:
    """The kinds a story of ``task`` may report, in the table's order."""
    return kinds_where(lambda k: kind_allowed(k.name, task))


def rate(kind: str, confusion: Confusion) -> Estimate:
    """A share from a confusion table (one of the proportion kinds), with its Wilson interval."""
    info = kind_info(kind)
    if info is None or not info.proportion:
        raise ValueError(f"not a proportion: {kind}")
    return info.from_confusion(confusion)


# Binary figures from 0 to 1 with an interval (the shares and ROC AUC), told as "so many in 100" by trust checks
# and judged by decision grounds; another task's figures with an interval are told by that task's analysis.
INTERVAL_KINDS = kinds_where(lambda k: k.task == "binary" and k.interval != "none")

if get_args(MetricKindName) != kinds_where(lambda k: True):  # pragma: no cover - a mistake in this file
    raise ImportError(f"MetricKindName {get_args(MetricKindName)} does not list the kinds of KINDS")
for _kind in KINDS:
    if _kind.interval == "wilson" and _kind.counts is None and _kind.from_set is None:  # pragma: no cover
        raise ImportError(f"{_kind.name} is a share but says nothing of what it counts")
    if (_kind.interval == "none") == (_kind.words.sentence is not None):  # pragma: no cover
        raise ImportError(f"{_kind.name}: a kind with an interval needs a sentence, one without a value_sentence")
