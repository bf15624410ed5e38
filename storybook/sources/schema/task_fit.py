"""The trust: and decision: keys that depend on the story's task, checked on their line.

A multiclass or regression story's trust and decision read that task's figures, so:

- ``trust.model.metric`` is a kind of the story's task with a 95% range and a direction (for a multiclass or
  regression story it has no binary default: name one); where lower is better (mae, rmse, log loss...) the
  bound is ``maximum`` in the figure's unit, where higher is better ``minimum``; binary stories keep
  ``minimum`` only;
- a ``version_comparison`` ground compares a kind of the story's task with a range and a direction, and its
  ``margin`` is a share (at most 1) unless the figure is a regression amount;
- a ``slice_gap`` ground of a regression story compares the average miss (mae) between groups, of a multiclass
  story the share of right calls (multiclass_accuracy), on the story's own version; a binary story a share. Its
  ``tolerance`` is a share (at most 1) unless the figure is the average miss.
"""

from __future__ import annotations

from storybook.metrics.kinds import Task, kind_info, kinds_where
from storybook.metrics.label_free import ESTIMABLE_KINDS
from storybook.sources.schema.common import KeyedValueError
from storybook.sources.schema.decision import SLICE_KINDS, DecisionSpec, SliceGapGround, VersionComparisonGround
from storybook.sources.schema.trust import TrustSpec

__all__ = ["check_decision_fits", "check_trust_fits", "judged_kinds"]


def judged_kinds(task: Task) -> tuple[str, ...]:
    """The kinds of ``task`` a trust check or a version comparison can judge: a range and a direction."""
    return kinds_where(lambda k: k.task == task and k.interval != "none" and k.higher_is_better is not None)


def _judged(kind: str, task: Task, path: tuple[str | int, ...], what: str) -> None:
    if kind not in judged_kinds(task):
        raise KeyedValueError(f"{what} is {kind!r}, which a {task} story cannot judge; use one of "
                              f"{', '.join(judged_kinds(task))}", path)


def _check_estimate(trust: TrustSpec, task: Task) -> None:
    """trust.production_scores and trust.estimate: a binary story's share made of confusion counts."""
    if trust.estimate is not None and trust.production_scores is None:
        raise KeyedValueError("trust.estimate needs trust.production_scores: the production-windows aggregate "
                              "whose scores the estimate reads", ("trust", "estimate"))
    if trust.production_scores is None:
        return
    where: tuple[str | int, ...] = ("trust", "production_scores")
    if task == "regression":
        raise KeyedValueError("storybook does not estimate a regression model's performance before the labels "
                              "arrive (how far a forecast misses cannot be read from the forecast itself); remove "
                              "trust.production_scores", where)
    if task == "multiclass":  # the share of right calls and each class's share found (docs/label-free.md)
        if trust.estimate is not None and trust.estimate.metric not in (None, "multiclass_accuracy"):
            raise KeyedValueError(f"a multiclass story's estimate tells the share of right calls "
                                  f"(multiclass_accuracy), not {trust.estimate.metric!r}; remove estimate.metric",
                                  ("trust", "estimate", "metric"))
        if trust.estimate is not None and trust.estimate.guardrails:
            raise KeyedValueError("guardrails on the estimate are for yes/no stories yet; a multiclass story's "
                                  "estimate is told without them; remove estimate.guardrails",
                                  ("trust", "estimate", "guardrails"))
        return
    given = trust.estimate is not None and trust.estimate.metric is not None
    metric = trust.estimate.metric if trust.estimate is not None and trust.estimate.metric else trust.model.metric
    if metric not in ESTIMABLE_KINDS:
        raise KeyedValueError(f"{metric!r} cannot be estimated from scores; estimate.metric must be a share made of "
                              f"confusion counts: {', '.join(ESTIMABLE_KINDS)}",
                              ("trust", "estimate", "metric") if given else where)


def check_trust_fits(trust: TrustSpec, task: Task) -> None:
    _check_estimate(trust, task)
    model = trust.model
    given = model.model_fields_set
    where: tuple[str | int, ...] = ("trust", "model") if "model" in trust.model_fields_set else ("trust",)
    if task == "binary":
        info = kind_info(model.metric)
        if info is not None and info.task != "binary":
            raise KeyedValueError(f"trust.model.metric is {model.metric!r}, a {info.task} figure; a binary story "
                                  "reads one of its own kinds (e.g. recall)", (*where, "metric"))
        if model.maximum is not None:
            raise KeyedValueError("maximum is for multiclass and regression stories; a binary story's held-out "
                                  "check reads minimum", (*where, "maximum"))
        return
    if "metric" not in given:
        raise KeyedValueError(f"a {task} story's trust needs model.metric: the figure the held-out check reads, "
                              f"one of {', '.join(judged_kinds(task))}", where)
    _judged(model.metric, task, (*where, "metric"), "trust.model.metric")
    info = kind_info(model.metric)
    assert info is not None
    if info.higher_is_better is False:
        if model.maximum is None:
            raise KeyedValueError(f"for {model.metric}, lower is better: give maximum (the highest value that "
                                  "passes, in the figure's unit) instead of minimum", where)
        if "minimum" in given:
            raise KeyedValueError(f"for {model.metric}, lower is better: give maximum, not minimum",
                                  (*where, "minimum"))
    elif model.maximum is not None:
        raise KeyedValueError(f"for {model.metric}, higher is better: give minimum, not maximum",
                              (*where, "maximum"))


def check_decision_fits(decision: DecisionSpec, task: Task) -> None:
    for index, criterion in enumerate(decision.criteria):
        ground = criterion.ground
        path: tuple[str | int, ...] = ("decision", "criteria", index, criterion.kind)
        if isinstance(ground, SliceGapGround):
            _check_slice_gap(ground, task, path)
        if isinstance(ground, VersionComparisonGround):
            if task != "binary":
                if "metric" not in ground.model_fields_set:
                    raise KeyedValueError(f"a {task} story's version_comparison needs metric: one of "
                                          f"{', '.join(judged_kinds(task))}", path)
                _judged(ground.metric, task, (*path, "metric"), "the metric compared")
            elif (binary := kind_info(ground.metric)) is not None and binary.task != "binary":
                raise KeyedValueError(f"the metric compared is {ground.metric!r}, a {binary.task} figure; a binary "
                                      "story compares one of its own kinds (e.g. recall)", (*path, "metric"))
            info = kind_info(ground.metric)
            amount = info is not None and info.task == "regression" and info.interval != "wilson"
            if ground.margin > 1 and not amount:
                raise KeyedValueError(f"margin {ground.margin:g} is more than 1, and {ground.metric} is a share "
                                      "from 0 to 1: give the margin as a share (0.02 for 2 points out of 100)",
                                      (*path, "margin"))


def _check_slice_gap(ground: SliceGapGround, task: Task, path: tuple[str | int, ...]) -> None:
    """A binary story compares a share; a regression story the average miss (mae) and a multiclass story the share
    of right calls, of its own version (the results per group the page tells)."""
    own = SLICE_KINDS.get(task)
    if own is None:
        if ground.metric in SLICE_KINDS.values():
            raise KeyedValueError(f"{ground.metric!r} is not a figure of a binary story; compare a share (e.g. "
                                  "recall)", (*path, "metric"))
    else:
        if "metric" not in ground.model_fields_set or ground.metric != own:
            where = (*path, "metric") if "metric" in ground.model_fields_set else path
            raise KeyedValueError(f"a {task} story's results per group hold {own}: give metric: {own}", where)
        if ground.version == "compared":
            raise KeyedValueError(f"a {task} story's results per group are told for its own version only; "
                                  "remove version: compared", (*path, "version"))
    if ground.tolerance > 1 and ground.metric != "mae":
        raise KeyedValueError(f"tolerance {ground.tolerance:g} is more than 1, and {ground.metric} is a share from "
                              "0 to 1: give it as a share (0.1 for 10 points out of 100)", (*path, "tolerance"))
