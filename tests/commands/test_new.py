"""storybook new (commands/new.py), its pure parts: the model the command names, and the metric kind a logged
key's name says (for the story's task). Drafting from real MLflow stores is tested in test_init_new.py."""

from __future__ import annotations

import pytest

from storybook.commands.new import metric_kind, parse_model
from storybook.errors import ConfigError
from storybook.metrics.kinds import Task


@pytest.mark.parametrize(("model", "version", "run_id", "expected"), [
    ("churn@champion", None, None, {"name": "churn", "alias": "champion"}),
    ("churn", 3, None, {"name": "churn", "version": 3}),
    ("team@churn@champion", None, None, {"name": "team@churn", "alias": "champion"}),  # the last @ splits
    (None, None, "abcdef12", {"run_id": "abcdef12"}),
])
def test_the_model_named_on_the_command_line(model: str | None, version: int | None, run_id: str | None,
                                              expected: dict[str, object]) -> None:
    assert parse_model(model, version, run_id) == expected


@pytest.mark.parametrize(("model", "version", "run_id", "message"), [
    (None, None, None, "name the model with --model NAME@ALIAS"),
    ("churn@champion", None, "abcdef12", "name the model with --model NAME@ALIAS"),
    (None, 2, "abcdef12", "--version goes with --model, not with --run"),
    (None, None, "not-a-run", "'not-a-run' is not an MLflow run id (8 to 64 hexadecimal characters)"),
    ("churn@champion", 2, None, "give the alias (churn@champion) or --version 2, not both"),
    ("@champion", None, None, "'@champion' names no model"),
    ("churn@champ ion", None, None, "'champ ion' is not an alias name"),
    ("churn", None, None, "which version of churn? give NAME@ALIAS (e.g. churn@champion) or --version N"),
])
def test_a_model_named_wrongly_is_refused_with_what_to_give(model: str | None, version: int | None,
                                                            run_id: str | None, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_model(model, version, run_id)
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(("key", "task", "kind"), [
    ("test_recall", "binary", "recall"),
    ("val_roc_auc_score", "binary", "roc_auc"),
    ("training_precision_score", "binary", "precision"),
    ("accuracy", "binary", "accuracy"),
    ("test_accuracy", "multiclass", "multiclass_accuracy"),   # the same word, the task's own kind
    ("test_mae", "regression", "mae"),
    ("r2_score", "regression", "r2"),
    ("cv_accuracy_mean", "multiclass", "multiclass_accuracy"),   # the folds' average, beside cv_accuracy_std
    ("cv_accuracy_std", "multiclass", None),                     # their spread is no accuracy
    ("my_recall", "binary", None),          # an unknown prefix: not guessed
    ("test_recall", "regression", None),    # a kind of another task
])
def test_the_kind_a_metric_s_name_says_for_the_story_s_task(key: str, task: Task, kind: str | None) -> None:
    assert metric_kind(key, task) == kind
