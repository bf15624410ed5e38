"""Where a logged figure was measured, and whether the evaluation set reproduces it.

A figure gets an interval, a denominator and a sentence only from what it really measured:

1. **Where.** A metric spec's ``measured_on`` says where its figure was measured. Without it, the key's MLflow
   convention decides (:func:`measured_on_default`): autolog's ``training_`` (or ``train_``) prefix is the
   training data; a cross-validation look (``cv_``, ``_cv``, ``fold``, a leading ``mean_``, except evaluate's
   ``mean_absolute_error`` and its kin) is cross-validation;
   anything else (``test_recall``, ``mlflow.models.evaluate``'s ``recall_score``, ``roc_auc`` ...) is taken to
   be the story's evaluation set, and checked against it.
2. **Recompute.** A figure measured on the evaluation set, of a kind storybook can compute (recall, precision,
   specificity, accuracy, false positive and negative rates, F1, ROC AUC, Brier), is recomputed from the scored
   set (or the confusion counts) at the story's positive class and threshold (:func:`recompute`).
3. **Reconcile.** When the logged and the recomputed value agree within :data:`TOLERANCE` (0.005, rounding
   that a logged figure may carry), the recomputed interval belongs to the logged figure. When they disagree,
   the logged figure gets no interval; the page tells the recomputed figure (what the story's definitions
   describe), with the logged value and the likely cause (:func:`likely_cause`), and ``storybook check`` fails.
   Figures measured elsewhere (training, cross-validation, other) are told as logged, with no interval and no
   "measured on N", and the sentence says where they come from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from storybook.analyse.classification import (
    Confusion,
    Estimate,
    SliceRow,
    auc_interval,
    brier_score,
    weighted_roc_auc,
)
from storybook.analyse.costs import sweep, threshold_text
from storybook.analyse.plain import stated_threshold_text
from storybook.metrics.binary import confusion_at
from storybook.metrics.kinds import kind_info, kinds_where
from storybook.metrics.multiclass import confusion_matrix
from storybook.resolve.scored import AnyScoredSet, ScoredSet, ranks_cases
from storybook.resolve.scored_multiclass import MulticlassSet
from storybook.sources.schema import MeasuredOn, MetricSpec

__all__ = ["AUTOLOG_WEIGHTED", "RECOMPUTABLE", "TOLERANCE", "Mismatch", "class_weighted", "likely_cause",
           "measured_on", "measured_on_default", "recompute"]

TOLERANCE = 0.005
# mlflow.sklearn.autolog logs these averaged over the classes, each weighted by its count (unless autolog was given
# pos_label): not the recall, precision or F1 of a story's positive value (its weighted recall is its accuracy).
AUTOLOG_WEIGHTED = ("training_f1_score", "training_precision_score", "training_recall_score")
RECOMPUTABLE = kinds_where(lambda k: k.computable)  # from the table of kinds
_TRAINING_FIRST = ("training", "train")
_CV_TOKENS = ("cv", "crossval", "xval")
# Names that start with "mean" but are a figure of the data they were computed on, not an average over folds:
# mlflow.models.evaluate's regressor metrics, and the mean error (bias) itself.
_MEAN_FIGURES = ("mean_absolute_error", "mean_squared_error", "mean_absolute_percentage_error", "mean_on_target",
                 "mean_error")


@dataclass(frozen=True)
class Mismatch:
    """A logged figure the evaluation set does not reproduce."""

    key: str
    kind: str
    logged: float
    recomputed: float
    cause: str


def measured_on_default(key: str) -> MeasuredOn:
    """Where MLflow's naming says a metric key was measured (see the module docstring)."""
    tokens = [t for t in re.split(r"[^a-z0-9]+", key.lower()) if t]
    if not tokens:
        return "evaluation"
    if tokens[0] in _TRAINING_FIRST:
        return "training"
    if "_".join(tokens) in _MEAN_FIGURES:
        return "evaluation"
    if tokens[0] == "mean" or any(t in _CV_TOKENS or t.startswith("fold") for t in tokens):
        return "cross_validation"
    return "evaluation"


def measured_on(spec: MetricSpec) -> MeasuredOn:
    return spec.measured_on if spec.measured_on is not None else measured_on_default(spec.key)


def recompute(kind: str, overall: SliceRow | None, scored: AnyScoredSet | None) -> Estimate | None:
    """The figure of this kind on the evaluation set (with its interval where one applies), or None when it
    cannot be computed from what the story has."""
    info = kind_info(kind)
    if info is None:
        return None
    if info.counts is not None:  # a ratio of confusion counts, at the story's threshold
        if overall is None:
            return None
        estimate = overall.rates[kind] if info.proportion else info.from_confusion(overall.confusion)
    elif info.compute is not None and isinstance(scored, ScoredSet) and scored.weights is not None:
        found = counted_figure(kind, scored)
        if found is None:
            return None
        estimate = found
    elif info.compute is not None and isinstance(scored, ScoredSet):
        estimate = info.measure(scored.labels, scored.scores, scored.threshold)
    elif info.from_set is not None and scored is not None and not isinstance(scored, ScoredSet):
        estimate = info.measure_set(scored.scores)  # a multiclass or regression figure
    else:
        return None
    # A share or ROC AUC with nothing to count is told as such; a bare figure that cannot be computed is not.
    return estimate if estimate.value is not None or info.interval != "none" else None


def counted_figure(kind: str, scored: ScoredSet) -> Estimate | None:
    """ROC AUC or the Brier score of a counted set (an aggregate): the AUC when its scores still rank the cases
    (exact), the Brier score from each cell's sums of scores and squared scores; None otherwise."""
    assert scored.weights is not None
    if kind == "roc_auc":
        if not ranks_cases(scored):
            return None
        area, pos, neg = weighted_roc_auc(scored.labels, scored.scores, scored.weights)
        return Estimate(None, None, None, scored.n) if area is None else auc_interval(area, pos, neg)
    if kind == "brier" and {"score_sum", "score_sq_sum"} <= set(scored.frame.columns):
        # mean of (score - y)^2 = (sum of score^2 - 2 * sum of the positives' scores + positives) / n
        squares = scored.frame["score_sq_sum"].to_numpy(dtype=np.float64)
        sums = scored.frame["score_sum"].to_numpy(dtype=np.float64)
        total = float(squares.sum() - 2 * sums[scored.labels].sum() + scored.weights[scored.labels].sum())
        return Estimate(total / scored.n, None, None, scored.n)
    return None


def _agrees(a: float | None, b: float) -> bool:
    return a is not None and abs(a - b) <= TOLERANCE


def _kind_at(kind: str, confusion: Confusion) -> float | None:
    info = kind_info(kind)
    assert info is not None
    return info.from_confusion(confusion).value


def _sweep(kind: str, labels: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64], logged: float,
           ) -> list[tuple[float, float]]:
    """(threshold, value) for every distinct cut of the scores whose value of ``kind`` agrees with ``logged``."""
    cuts, inverse = np.unique(scores, return_inverse=True)
    positives = np.bincount(inverse, weights=labels.astype(float), minlength=cuts.size)
    negatives = np.bincount(inverse, weights=(~labels).astype(float), minlength=cuts.size)
    tp = np.cumsum(positives[::-1])[::-1]  # flagged at cut k: every score >= cuts[k]
    fp = np.cumsum(negatives[::-1])[::-1]
    p, n = int(labels.sum()), int((~labels).sum())
    tn, fn = n - fp, p - tp
    info = kind_info(kind)
    assert info is not None and info.counts is not None
    # The table's counts at every cut at once (each cell of the confusion table is an array over the cuts: the
    # same divisions the table makes at one threshold, so the same values), then the agreeing ones.
    counted, among = info.counts(Confusion(tp=tp, fp=fp, tn=tn, fn=fn))  # type: ignore[arg-type]
    successes, totals = np.asarray(counted, dtype=np.float64), np.asarray(among, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = successes / totals
    agreeing = np.flatnonzero((totals > 0) & (np.abs(values - logged) <= TOLERANCE))
    return [(float(cuts[k]), float(values[k])) for k in agreeing]


def likely_cause(kind: str, logged: float, recomputed: float, scored: AnyScoredSet | None,
                 positive_value: str) -> str:
    """The most likely reason a logged figure differs from the evaluation set's, in plain words."""
    if logged > 1 and _agrees(logged / 100, recomputed):
        return "the run logged it as a percentage"
    if isinstance(scored, ScoredSet) and scored.weights is None:
        labels, scores, threshold = scored.labels, scored.scores, scored.threshold
        if (info := kind_info(kind)) is not None and info.counts is not None:
            flagged = scores >= threshold
            other = Confusion(tp=int((~labels & ~flagged).sum()), fp=int((labels & ~flagged).sum()),
                              tn=int((labels & flagged).sum()), fn=int((~labels & flagged).sum()))
            value = _kind_at(kind, other)
            if _agrees(value, logged):
                return (f"another positive class: counting the other label as positive instead of "
                        f"{positive_value!r} gives {value:.4f}")
            if (weighted := _weighted_cause(kind, logged, scored)) is not None:
                return weighted
            cuts = _sweep(kind, labels, scores, logged)
            if cuts:
                cut, value = min(cuts, key=lambda c: abs(c[0] - threshold))
                swept = sweep(labels, scores)  # printed so that flagging at it gives exactly that value
                return (f"another threshold: flagging scores of {threshold_text(swept, swept.index_for(cut))} or "
                        f"more gives {value:.4f}, where the story flags at {stated_threshold_text(threshold)}")
        elif kind == "roc_auc":
            if _agrees(1 - recomputed, logged):
                return "scores of the other label: the figure is what the scores give for the other class"
        elif kind == "brier":
            value = brier_score(~labels, scores)
            if _agrees(value, logged):
                assert value is not None
                return (f"another positive class: scoring against the other label instead of {positive_value!r} "
                        f"gives {value:.4f}")
    if (weighted := _weighted_cause(kind, logged, scored)) is not None:
        return weighted
    return ("another data set, or the figure was measured elsewhere (if so, say where with measured_on in "
            "story.yaml)")


# A kind -> the per-class figure whose average, each class weighted by its count, a run may have logged instead.
_WEIGHTED_OF = {"recall": "recall", "precision": "precision", "f1": "f1", "balanced_accuracy": "recall",
                "macro_f1": "f1"}


def _weighted_cause(kind: str, logged: float, scored: AnyScoredSet | None) -> str | None:
    """The cause when the logged figure is the average over the classes, each weighted by its count
    (scikit-learn's average="weighted": mlflow.models.evaluate's f1_score, precision_score and recall_score for
    more than two classes, and mlflow.sklearn.autolog's), at the story's calls; None when it is not."""
    if isinstance(scored, MulticlassSet):
        matrix = confusion_matrix(scored.scores)
    elif isinstance(scored, ScoredSet):
        counts = confusion_at(scored.labels, scored.scores, scored.threshold, scored.weights)
        matrix = np.array([[counts.tn, counts.fp], [counts.fn, counts.tp]])  # row: the true class
    else:
        return None
    value = class_weighted(kind, matrix)
    if value is None or not _agrees(value, logged):
        return None
    return (f"an average over the classes, each weighted by its count (as mlflow.models.evaluate logs f1_score, "
            f"precision_score and recall_score for more than two classes, and mlflow.sklearn.autolog logs them): "
            f"that gives {value:.4f}")


def class_weighted(kind: str, matrix: npt.NDArray[np.integer]) -> float | None:
    """The recall, precision or F1 (by ``kind``, see _WEIGHTED_OF) of each class averaged over the classes, each
    weighted by its count, from a confusion matrix (row: the true class; column: the class called), as
    scikit-learn's average="weighted" (a class never called has precision 0); None for other kinds."""
    which = _WEIGHTED_OF.get(kind)
    counts = np.asarray(matrix, dtype=np.float64)
    support = counts.sum(axis=1)
    if which is None or support.sum() == 0:
        return None
    right, called = np.diag(counts), counts.sum(axis=0)
    recall = np.divide(right, support, out=np.zeros_like(right), where=support > 0)
    precision = np.divide(right, called, out=np.zeros_like(right), where=called > 0)
    both = recall + precision
    f1 = np.divide(2 * recall * precision, both, out=np.zeros_like(right), where=both > 0)
    values = {"recall": recall, "precision": precision, "f1": f1}[which]
    return float((values * support).sum() / support.sum())
