"""The glossary and the plain-language lints know each task's words: a regression story defines the typical
error, bias, R² and RMSE in its amount unit and has no threshold or recall; a multiclass story defines each
class's "found" and "right when it says so"; the score-like figures of the new kinds need a baseline."""

from __future__ import annotations

import html
import re
from pathlib import Path

from typer.testing import CliRunner

from storybook.analyse.glossary import build_glossary
from storybook.analyse.plain import Vocabulary
from storybook.cli import app
from storybook.review.plain_lints import find_jargon, find_metrics_without_baseline
from tests.stores import log_regression_run, regression_evaluation, story, tracking_uri, write_project

runner = CliRunner()
PATIENTS = Vocabulary(unit="patients", amount_unit="points")


def _terms(task: str) -> dict[str, tuple[str | None, tuple[str, ...]]]:
    return {t.name: (t.in_story, t.also) for t in build_glossary(PATIENTS, task=task)}  # type: ignore[arg-type]


def test_a_regression_glossary_tells_its_errors_in_the_amount_unit_and_nothing_binary() -> None:
    terms = _terms("regression")
    assert {"typical error", "bias", "R²", "RMSE"} <= set(terms)
    assert not {"recall", "precision", "threshold", "false positive", "ROC AUC", "accuracy", "Brier score",
                "found"} & set(terms)
    assert terms["typical error"] == (
        "Counted in points: a typical error of 12 means the forecasts are usually off by about 12 points, too high "
        "or too low.", ("average miss", "mean absolute error", "MAE"))
    assert terms["bias"][0] == "Counted in points: a bias of 5 means the forecasts are 5 points too high on average."
    assert terms["guardrail"][0] == ("A limit on a figure about the patients the model scores each day, such as "
                                     "the average forecast.")
    assert {"interval", "drift", "slice", "champion"} <= set(terms)  # the task-blind words stay


def test_a_multiclass_glossary_defines_found_and_right_per_class_without_binary_words() -> None:
    terms = _terms("multiclass")
    assert terms["found"] == ("Of the patients truly of a class, the share the model says are of it.", ())
    assert terms["right when it says so"][0] == "Of the patients the model says are of a class, the share truly of it."
    # told of the most likely class, never as a binary story's ("should really are positive")
    assert terms["calibration"][0] == ("Of the patients whose most likely class the model gives a 70% chance, "
                                       "about 70 in 100 should truly be of it.")
    assert terms["accuracy"][0] == "Of all patients, the share whose class the model calls right."
    plain = {t.name: t.plain for t in build_glossary(PATIENTS, task="multiclass")}
    assert "recall" not in plain["accuracy"] and "positive" not in plain["calibration"]
    assert not {"recall", "precision", "threshold", "typical error", "R²"} & set(terms)
    spellings = [s for t in build_glossary(PATIENTS, task="multiclass") for s in t.spellings]
    text = "Its balanced accuracy and macro F1 are shown with the log loss.\n"
    assert find_jargon(text, spellings) == []  # every multiclass word an author may use has its entry


def test_a_binary_glossary_is_unchanged_by_the_other_tasks() -> None:
    terms = _terms("binary")
    assert {"recall", "precision", "threshold", "ROC AUC"} <= set(terms)
    assert not {"typical error", "bias", "R²", "RMSE", "found", "right when it says so"} & set(terms)
    assert terms["guardrail"][0] == ("A limit on a figure about the patients the model scores each day, such as "
                                     "the average predicted chance.")


def test_the_new_score_like_figures_need_a_baseline_and_the_new_words_a_definition() -> None:
    flagged = find_metrics_without_baseline("The RMSE is 12.3 points. The R² is 0.41.\n")
    assert [f.message for f in flagged] == ["the RMSE is given with nothing to compare it with",
                                            "the R² is given with nothing to compare it with"]
    assert find_metrics_without_baseline("The R² is 0.41, against 0 for always forecasting the average.\n") == []
    kinds = {"test_r2": "r2", "test_mae": "mae", "test_macro_f1": "macro_f1"}
    by_key = find_metrics_without_baseline('It scores {{ metric("test_r2") }}.\n'
                                           'It misses by {{ metric("test_mae") }} points.\n'
                                           'Its macro F1 is {{ metric("test_macro_f1") }}.\n', kinds)
    assert [f.line for f in by_key] == [1, 3]  # an average miss in points means something on its own
    regression = [s for t in build_glossary(PATIENTS, task="regression") for s in t.spellings]
    binary = [s for t in build_glossary(PATIENTS) for s in t.spellings]
    text = "The MAE and the RMSE say how far off it is; its recall does not apply.\n"
    assert [f.message.split("'")[1] for f in find_jargon(text, regression)] == ["recall"]
    assert [f.message.split("'")[1] for f in find_jargon(text, binary)] == ["MAE", "RMSE"]


def test_a_regression_page_links_its_words_to_their_entries(tmp_path: Path) -> None:
    log_regression_run(tracking_uri(tmp_path))
    write_project(tmp_path, {"s": story("progression", "champion",
                                        [{"key": "test_mae", "label": "Average miss", "kind": "mae"}],
                                        regression_evaluation(), drivers={"repeats": 2})})
    result = runner.invoke(app, ["build", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "site" / "s.html").read_text()
    glossary = page[page.index('<section id="glossary"'):]
    glossary = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", glossary[:glossary.index("</section>")])))
    assert "typical error" in glossary and "Counted in points" in glossary
    assert 'href="#term-typical-error"' in page
    for binary_word in ("recall", "threshold", "false positive", "Brier score"):
        assert f" {binary_word} " not in glossary
