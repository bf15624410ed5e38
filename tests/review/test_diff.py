"""What changed between two versions of a story (review/diff.py), on hand-made inputs: words diffed by runs, and
the model version, aliases, run, metrics and params that differ between two pinned resolutions."""

from __future__ import annotations

import dataclasses

from storybook.resolve.resolved import Figure, ModelVersionRecord, Provenance, ResolvedRun, ResolvedStory
from storybook.review.diff import compare_resolved, word_diff


def _figure(key: str, value: float) -> Figure:
    return Figure(key, value, Provenance("sqlite:///mlflow.db", "r" * 32, "metric", key))


OLD = ResolvedStory(
    source="sqlite:///mlflow.db",
    run=ResolvedRun("r" * 32, "bold-run", "screening", 0, None,
                    {"recall": _figure("recall", 0.9), "auc": _figure("auc", float("nan")),
                     "tiny": _figure("tiny", 0.0001234)}, {"C": "0.5", "gone": "x"}, {}),
    model=ModelVersionRecord("screening", 2, "r" * 32, 0, ("champion",)))


def test_words_are_diffed_by_runs_with_whitespace_ignored() -> None:
    assert word_diff("The model finds  most cases.", "The model\nfinds nearly all cases.") == (
        ("equal", "The model finds"), ("delete", "most"), ("insert", "nearly all"), ("equal", "cases."))
    assert word_diff("same words", " same\twords ") == (("equal", "same words"),)
    assert word_diff("", "new text") == (("insert", "new text"),)


def test_the_same_resolution_has_no_change_even_with_a_nan_metric() -> None:
    assert compare_resolved(OLD, dataclasses.replace(OLD)) == []


def test_each_change_is_named_with_both_values_at_four_figures() -> None:
    assert OLD.model is not None
    new = dataclasses.replace(
        OLD, model=dataclasses.replace(OLD.model, version=3, aliases=("champion", "production")),
        run=dataclasses.replace(OLD.run, run_id="s" * 32,
                                metrics={"recall": _figure("recall", 0.912345), "auc": _figure("auc", 0.8),
                                         "tiny": _figure("tiny", 0.0001234), "new": _figure("new", 12345.0)},
                                params={"C": "1.0", "added": "y"}))
    changes = [(c.what, c.old, c.new) for c in compare_resolved(OLD, new)]
    assert changes == [
        ("model version", "screening v2", "screening v3"),
        ("model aliases", "champion", "champion, production"),
        ("run", "r" * 32, "s" * 32),
        ("metric auc", "nan", "0.8"),
        ("metric new", None, "1.234e+04"),
        ("metric recall", "0.9", "0.9123"),
        ("param C", "0.5", "1.0"),
        ("param added", None, "y"),
        ("param gone", "x", None),
    ]


def test_a_story_new_on_one_side_lists_everything_as_added() -> None:
    changes = [(c.what, c.old, c.new) for c in compare_resolved(None, OLD)]
    assert changes[:3] == [("model version", None, "screening v2"), ("model aliases", None, "champion"),
                           ("run", None, "r" * 32)]
    assert ("metric tiny", None, "1.234e-04") in changes
