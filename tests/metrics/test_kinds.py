"""The one table of metric kinds: every old list is read from it, each row computes what scikit-learn computes,
and a new kind added as one row (tests/metrics/new_kind.py) reaches the analysis, the wording, the schema and a
built card, with no other edit."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, precision_score, recall_score, roc_auc_score

from storybook.analyse import plain
from storybook.analyse.claims import LOWER_IS_BETTER
from storybook.analyse.classification import PROPORTION_KINDS
from storybook.analyse.decision_judge import Scored, estimate_for
from storybook.analyse.drivers import DRIVER_METRIC_NAMES
from storybook.analyse.reconcile import RECOMPUTABLE
from storybook.metrics import kinds
from storybook.metrics.binary import Confusion
from storybook.metrics.importance import IMPORTANCE_METRICS, metric_scorer
from storybook.review.plain_lints import SCORE_KINDS
from storybook.sources.schema import METRIC_KINDS
from tests import stores
from tests.metrics.new_kind import NAME, add_negative_predictive_value

ROOT = Path(__file__).resolve().parents[2]
# Hand-worked: flagged at 0.5 are rows 0, 1, 5, 9, so TP 2 (0, 1), FP 2 (5, 9), FN 2 (2, 8), TN 4 (3, 4, 6, 7).
LABELS = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 0], dtype=bool)
SCORES = np.array([0.9, 0.8, 0.3, 0.2, 0.1, 0.6, 0.4, 0.05, 0.45, 0.7])
WORDS = plain.Vocabulary(unit="patients", positive="have a malignant tumour", negative="have a harmless tumour")


def test_every_old_list_of_kinds_is_read_from_the_table() -> None:
    names = tuple(k.name for k in kinds.KINDS)
    assert METRIC_KINDS == names == get_args(kinds.MetricKindName)
    assert PROPORTION_KINDS == ("recall", "precision", "specificity", "accuracy", "false_positive_rate",
                                "false_negative_rate")
    assert (*PROPORTION_KINDS[:4], "roc_auc", *PROPORTION_KINDS[4:]) == kinds.INTERVAL_KINDS
    assert set(IMPORTANCE_METRICS) == {"accuracy", "recall", "precision", "specificity", "f1", "roc_auc", "brier",
                                       "mae", "rmse", "multiclass_accuracy", "log_loss"}
    assert {"accuracy", "roc_auc", "f1", "brier", "other", "rmse", "r2", "multiclass_accuracy",
            "balanced_accuracy", "macro_f1", "log_loss"} == SCORE_KINDS
    assert LOWER_IS_BETTER == ("false_positive_rate", "false_negative_rate", "brier", "mae", "rmse",
                               "median_absolute_error", "log_loss")
    assert set(RECOMPUTABLE) == set(names) - {"other"}
    assert set(plain.RATE_NAMES) == set(PROPORTION_KINDS)
    assert DRIVER_METRIC_NAMES["roc_auc"] == "ranking quality (AUC)" and set(DRIVER_METRIC_NAMES) == set(
        IMPORTANCE_METRICS)


SKLEARN = {
    "recall": lambda y, s: recall_score(y, s >= 0.5),
    "precision": lambda y, s: precision_score(y, s >= 0.5),
    "specificity": lambda y, s: recall_score(~y, s < 0.5),
    "accuracy": lambda y, s: accuracy_score(y, s >= 0.5),
    "false_positive_rate": lambda y, s: 1 - recall_score(~y, s < 0.5),
    "false_negative_rate": lambda y, s: 1 - recall_score(y, s >= 0.5),
    "f1": lambda y, s: f1_score(y, s >= 0.5),
    "roc_auc": roc_auc_score,
    "brier": brier_score_loss,
}


@pytest.mark.parametrize("name", list(SKLEARN))
def test_each_row_computes_what_scikit_learn_computes(name: str) -> None:
    rng = np.random.default_rng(7)
    labels = rng.random(400) < 0.3
    scores = np.clip(labels * 0.3 + rng.random(400) * 0.7, 0, 1)
    info = kinds.kind_info(name)
    assert info is not None and info.computable
    assert info.measure(labels, scores, 0.5).value == pytest.approx(SKLEARN[name](labels, scores), abs=1e-12)
    assert (info.measure(labels, scores, 0.5).low is None) == (info.interval == "none")


def test_other_is_a_kind_storybook_cannot_compute() -> None:
    other = kinds.kind_info("other")
    assert other is not None and not other.computable and other.higher_is_better is None
    with pytest.raises(ValueError, match="cannot compute"):
        other.measure(LABELS, SCORES, 0.5)


def test_a_new_row_is_measured_and_worded_with_no_other_edit(monkeypatch: pytest.MonkeyPatch) -> None:
    assert kinds.kind_info(NAME) is None
    monkeypatch.setattr(kinds, "KINDS", kinds.KINDS)  # restored after the test
    add_negative_predictive_value()

    # The analysis: TN / (TN + FN) = 4 / 6 with its Wilson interval (worked by hand: 0.29997 to 0.90324).
    estimate = estimate_for(NAME, Scored("", LABELS, SCORES, 0.5, None, ""))
    assert (estimate.value, estimate.successes, estimate.n) == (pytest.approx(4 / 6), 4, 6)
    assert estimate.low == pytest.approx(0.29997, abs=1e-4) and estimate.high == pytest.approx(0.90324, abs=1e-4)
    assert kinds.rate(NAME, Confusion(tp=2, fp=2, tn=4, fn=2)) == estimate
    with pytest.raises(ValueError, match="cannot measure importance"):  # the row did not ask for it
        metric_scorer(NAME, 0.5)

    # The wording.
    assert plain.definition(NAME, WORDS) == ("Of the patients who are not flagged, the share who really have a "
                                             "harmless tumour (negative predictive value).")
    assert plain.kind_phrase(NAME, WORDS) == "share of patients not flagged who really have a harmless tumour"
    assert plain.denominator_words(NAME, WORDS) == "patients who are not flagged"
    told = plain.metric_sentence(NAME, 4 / 6, estimate, WORDS, plain.WordingRules(min_count=5))
    assert told == ("Of the patients who are not flagged, between 30 and 90 in 100 really have a harmless tumour "
                    "(measured on 6 patients who are not flagged).")
    # The limit: the schema's list of kinds is built when storybook.sources.schema is imported, so in a process
    # that imported it before the row was added the schema does not know the kind (the next test adds the row
    # first, in a fresh process).
    assert NAME not in METRIC_KINDS


_BUILD = """
import sys
if sys.argv[1] == "add":
    from tests.metrics.new_kind import add_negative_predictive_value
    add_negative_predictive_value()
from typer.testing import CliRunner
from storybook.cli import app
result = CliRunner().invoke(app, ["build", sys.argv[2], "--no-pdf"])
print(result.output)
print("EXIT", result.exit_code)
"""


def _build(project: Path, add: bool) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-c", _BUILD, "add" if add else "no", str(project)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "MLFLOW_TRACKING_URI": "", "PYTHONPATH": str(ROOT)})
    found = re.search(r"^EXIT (\d+)$", done.stdout, re.MULTILINE)
    assert found is not None, done.stdout + done.stderr
    return int(found.group(1)), done.stdout + done.stderr


def test_a_new_row_reaches_the_schema_and_the_card(tmp_path: Path) -> None:
    uri = stores.tracking_uri(tmp_path)
    _, x_test, _, y_test = stores.breast_cancer(seed=3)
    scores = np.clip((x_test["mean radius"].to_numpy() - 8) / 20, 0, 1)  # a crude but real score
    truth, flagged = y_test.to_numpy() == 1, scores >= 0.5
    tn, fn = int((~truth & ~flagged).sum()), int((truth & ~flagged).sum())
    run = stores.log_scored_run(uri, stores.scored_frame(y_test, scores), metrics={"npv": tn / (tn + fn)})
    story = stores.story("x", "y", [{"key": "npv", "label": "Clear calls that are right", "kind": NAME}],
                         {"unit": "patients", "positive_means": "have a malignant tumour",
                          "negative_means": "have a harmless tumour", "threshold": 0.5})
    story["model"] = {"run_id": run}
    stores.write_project(tmp_path, {"npv": story})

    # Without the row the schema refuses the kind, on its line of story.yaml.
    code, output = _build(tmp_path, add=False)
    assert code == 1, output
    assert re.search(r"npv/story\.yaml:\d+: metrics\.0\.kind: Input should be 'recall'", output), output
    assert "Traceback" not in output

    # With the row (and nothing else) the kind is accepted, recomputed from the scored set and told.
    code, output = _build(tmp_path, add=True)
    assert code == 0, output
    page = (tmp_path / "site" / "npv.html").read_text()
    sentences = page.split('class="metric-sentences"', 1)[1].split("</ul>", 1)[0]
    assert "Clear calls that are right" in sentences
    assert "Of the patients who are not flagged, " in sentences and "really have a harmless tumour" in sentences
    assert f"(measured on {tn + fn:,} patients who are not flagged)." in sentences


_DERIVED = """
import json, sys
from tests.metrics.new_kind import add_negative_predictive_value
add_negative_predictive_value()
from typer.testing import CliRunner
from storybook.analyse import plain
from storybook.analyse.classification import PROPORTION_KINDS
from storybook.analyse.reconcile import RECOMPUTABLE
from storybook.cli import app
from storybook.metrics.importance import IMPORTANCE_METRICS
from storybook.review.plain_lints import SCORE_KINDS
from storybook.sources.schema import METRIC_KINDS, IntervalKind
from typing import get_args
print("DERIVED", json.dumps({
    "schema": METRIC_KINDS, "proportion": PROPORTION_KINDS, "interval": get_args(IntervalKind),
    "recomputable": RECOMPUTABLE, "lint_score_kinds": sorted(SCORE_KINDS), "importance": IMPORTANCE_METRICS,
    "rate_names": plain.RATE_NAMES}))
result = CliRunner().invoke(app, ["check", sys.argv[1], "--online", "--format", "json"])
print("CHECK", json.dumps({"exit": result.exit_code, "output": result.output}))
"""


def test_a_new_row_reaches_the_lints_and_the_reconciliation(tmp_path: Path) -> None:
    """In a process where the row is added first, every list derived from the table holds the new kind as the
    row says (a share with a Wilson interval, recomputable; not score-like, not for importance), and the
    reconciliation uses it: an NPV logged at another threshold than the story's fails ``check`` on the
    metric's line, with the threshold that would give the logged value as the likely cause."""
    import json

    uri = stores.tracking_uri(tmp_path)
    _, x_test, _, y_test = stores.breast_cancer(seed=3)
    scores = np.clip((x_test["mean radius"].to_numpy() - 8) / 20, 0, 1)
    truth = y_test.to_numpy() == 1

    def npv(threshold: float) -> float:
        flagged = scores >= threshold
        return int((~truth & ~flagged).sum()) / int((~flagged).sum())

    at_story, at_other = npv(0.5), npv(0.3)
    assert abs(at_story - at_other) > 0.005  # a difference the reconciliation must see
    run = stores.log_scored_run(uri, stores.scored_frame(y_test, scores), metrics={"npv": at_other})
    story = stores.story("x", "y", [{"key": "npv", "label": "Clear calls that are right", "kind": NAME}],
                         {"unit": "patients", "positive_means": "have a malignant tumour",
                          "negative_means": "have a harmless tumour", "threshold": 0.5})
    story["model"] = {"run_id": run}
    stores.write_project(tmp_path, {"npv": story})

    done = subprocess.run([sys.executable, "-c", _DERIVED, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600,
                          env={**os.environ, "MLFLOW_TRACKING_URI": "", "PYTHONPATH": str(ROOT)})
    lines = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in done.stdout.splitlines()
             if line.startswith(("DERIVED ", "CHECK "))}
    assert set(lines) == {"DERIVED", "CHECK"}, done.stdout + done.stderr
    derived = json.loads(lines["DERIVED"])
    for held in ("schema", "proportion", "interval", "recomputable", "rate_names"):
        assert NAME in derived[held], held
    assert NAME not in derived["lint_score_kinds"] and NAME not in derived["importance"]  # the row says neither
    assert derived["rate_names"][NAME] == "share of clear calls that are right"

    check = json.loads(lines["CHECK"])
    assert check["exit"] == 1, check["output"]
    found = [f for f in json.loads(check["output"])["findings"] if f["code"] == "figure-mismatch"]
    assert len(found) == 1, check["output"]
    written = (tmp_path / "stories" / "npv" / "story.yaml").read_text().splitlines()
    assert found[0]["line"] == written.index("- key: npv") + 1  # the metric's own line
    message = found[0]["message"]
    assert f"metric 'npv' ({NAME}) was logged as {at_other:.4f}, but the evaluation set gives {at_story:.4f}" \
        in message
    assert "likely cause: another threshold" in message and "where the story flags at 0.5" in message
