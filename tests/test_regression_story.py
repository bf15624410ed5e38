"""A regression story end to end: a model trained on scikit-learn's diabetes data, its scored set logged to a real
sqlite MLflow store, the story built by the CLI, and every figure on the page checked against scikit-learn (or
numpy, worked out here) on the same set; a scored set of the wrong shape gives a located error."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error, mean_squared_error, median_absolute_error, r2_score
from sklearn.model_selection import train_test_split
from typer.testing import CliRunner

from storybook.analyse.plain import amount_number
from storybook.cli import app
from storybook.metrics.binary import wilson_interval
from storybook.metrics.regression import RegressionScores, cost_adjustment, figures
from tests import stores

runner = CliRunner()
Z_90 = 1.6448536269514722


def diabetes_scored() -> pd.DataFrame:
    """A ridge regression of the one-year progression score, its forecasts on held-out patients with a 90%
    range from the training residuals, and the patients' sex as a slice."""
    data = load_diabetes(as_frame=True)
    x, y = data.data, data.target
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=7)
    model = Ridge(alpha=0.1).fit(x_train, y_train)
    spread = float(np.std(y_train - model.predict(x_train)))
    predicted = model.predict(x_test)
    return pd.DataFrame({
        "actual": y_test.to_numpy(), "prediction": predicted,
        "lower": predicted - Z_90 * spread, "upper": predicted + Z_90 * spread,
        "sex": np.where(x_test["sex"].to_numpy() > 0, "men", "women"),
    })


def regression_story(run_id: str, **evaluation: Any) -> dict[str, Any]:
    story = stores.story("diabetes", "champion", [
        {"key": "mae", "label": "Average miss", "kind": "mae"},
        {"key": "rmse", "label": "Typical miss", "kind": "rmse"},
        {"key": "r2", "label": "Gain over the average", "kind": "r2"},
        {"key": "bias", "label": "Lean", "kind": "mean_error"},
    ], {"task": "regression", "artifact": "evaluation/scored.csv", "unit": "patients",
        "lower_column": "lower", "upper_column": "upper", "interval_level": 0.9,
        "target_means": "the disease progression score one year later", "amount_unit": "points", **evaluation},
        slices=[{"column": "sex", "label": "Sex"}],
        cost_of_error={"unit": "clinic minutes", "owner": "The clinic's planning lead", "over_forecast": 1,
                       "under_forecast": 3, "tolerance": 40, "bootstrap_rounds": 400, "seed": 3})
    story["model"] = {"run_id": run_id}
    return story


def page_text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_every_figure_on_the_page_is_scikit_learns(tmp_path: Path) -> None:
    frame = diabetes_scored()
    y, p = frame["actual"].to_numpy(), frame["prediction"].to_numpy()
    logged = {"mae": mean_absolute_error(y, p), "rmse": float(np.sqrt(mean_squared_error(y, p))),
              "r2": r2_score(y, p), "bias": float(np.mean(p - y))}
    uri = stores.tracking_uri(tmp_path)
    run = stores.log_scored_run(uri, frame, metrics=logged)
    stores.write_project(tmp_path, {"progression": regression_story(run)})

    result = runner.invoke(app, ["build", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "site" / "progression.html").read_text()
    text = page_text(page)

    # The same figures with the same ranges as the analysis computes (seeded): checked against scikit-learn.
    scores = RegressionScores(y, p, frame["lower"].to_numpy(), frame["upper"].to_numpy())
    found = figures(scores)
    assert found.mae.value == pytest.approx(logged["mae"]) and found.r2.value == pytest.approx(logged["r2"])
    assert found.median_absolute_error.value == pytest.approx(median_absolute_error(y, p))
    shown = [float(v) for v in re.findall(r'data-regression-figure="\d">([-\d.,]+)<', page)]
    expected = [logged["mae"], logged["rmse"], median_absolute_error(y, p), logged["bias"], logged["r2"]]
    assert shown == pytest.approx(expected, abs=5e-5)
    # The card's metric lines agree with the logged figures (no mismatch), told in points.
    assert "does not match the logged value" not in text
    assert re.search(r"On average, the forecasts miss by (about|between) [\d.]+ (and [\d.]+ )?points, whichever way "
                     r"\(measured on 133 patients\)", text), text
    assert f"always forecasting the average of what happened, {amount_number(float(np.mean(y)))} points" in text
    assert f"R² {amount_number(logged['r2'], 1)}" in text

    # Interval coverage: the share of actual values inside [lower, upper], against the stated 90 in 100.
    inside = int(((frame["lower"] <= frame["actual"]) & (frame["actual"] <= frame["upper"])).sum())
    assert inside / len(frame) == pytest.approx(0.9, abs=0.1)
    assert "The forecasts' ranges are stated to hold what happens 90 in 100 times" in text
    low, high = wilson_interval(inside, len(frame))
    assert (f"they held it for between {round(low * 100)} and {round(high * 100)} in 100 patients (measured on "
            f"{len(frame)} patients)") in text

    # Per slice: each group's average miss as scikit-learn computes it on its rows.
    for group in ("men", "women"):
        rows = frame["sex"] == group
        mae = mean_absolute_error(frame.loc[rows, "actual"], frame.loc[rows, "prediction"])
        cell = re.search(rf'data-group-mae="{group}">([\d.,]+)', page)
        assert cell is not None and float(cell.group(1)) == pytest.approx(mae, abs=5e-3)
        assert f"{group} ({int(rows.sum())} patients): the forecasts miss by" in text

    # The charts are drawn with alt text that counts the forecasts too high and too low.
    high, low = int((p > y).sum()), int((p < y).sum())
    assert f"{high:,} were too high and {low:,} too low" in html.unescape(page)
    assert (tmp_path / "site" / "charts" / "progression-errors.svg").is_file()
    assert (tmp_path / "site" / "charts" / "progression-residuals.svg").is_file()

    # The cost of error: the adjustment is the 3/4 quantile of actual - forecast (checked by brute force in
    # tests/metrics/test_regression.py), told as "the forecast plus N points".
    costs = cost_adjustment(scores, 1.0, 3.0, rounds=400, seed=3)
    residuals = np.sort(y - p)
    best = costs.adjustment.value
    assert best is not None and best == pytest.approx(float(residuals[int(np.ceil(len(y) * 0.75)) - 1]))
    plan = f"the forecast plus {amount_number(best)} points"
    assert f"The expected cost is lowest when plans use {plan}" in text
    before = float(np.mean(np.maximum(p - y, 0) + 3 * np.maximum(y - p, 0)))
    assert costs.cost_before.value == pytest.approx(before)
    # Natural frequencies out of 100 at the stated tolerance of 40 points.
    within, too_high = int((np.abs(p - y) <= 40).sum()), int((p - y > 40).sum())
    told = re.search(r"Out of 100 forecasts as made, (\d+) are within 40 points of what happened, (\d+) are more "
                     r"than 40 points too high and (\d+) more than 40 points too low", text)
    assert told is not None
    assert sum(map(int, told.groups())) == 100
    within_told, high_told, low_told = told.groups()
    assert (f"Picture of 100 forecasts, one square each: {within_told} within 40 points; {high_told} more than 40 "
            f"points too high; {low_told} more than 40 points too low.") in html.unescape(page)
    assert (tmp_path / "site" / "charts" / "progression-forecast-icons.svg").is_file()
    assert abs(int(told.group(1)) - within * 100 / len(y)) < 1 and abs(int(told.group(2)) - too_high * 100 / len(y)) < 1
    assert "Who carries the errors" in text
    assert "By sex: the group " in text and "This story does not break results down by group" not in text
    assert "The groups looked at here: Sex (2 groups)" in text
    # No binary wording leaks into a regression story.
    for binary in ("threshold", "flagged", "false alarm"):
        assert binary not in text.lower(), binary

    summary = page_text((tmp_path / "site" / "progression.summary.html").read_text())
    assert f"The expected cost is lowest when plans use {plan}" in summary


def test_text_in_the_prediction_column_is_a_located_error(tmp_path: Path) -> None:
    frame = diabetes_scored()
    frame["prediction"] = frame["prediction"].round(1).astype(str)
    frame.loc[5, "prediction"] = "about 150"
    uri = stores.tracking_uri(tmp_path)
    run = stores.log_scored_run(uri, frame, metrics={"mae": 40.0, "rmse": 50.0, "r2": 0.4, "bias": 0.0})
    stores.write_project(tmp_path, {"progression": regression_story(run)})

    result = runner.invoke(app, ["build", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    written = (tmp_path / "stories" / "progression" / "story.yaml").read_text().splitlines()
    assert "holds values that are not numbers (e.g. 'about 150')" in output, output
    line = next(i for i, text in enumerate(written, 1) if text.strip().startswith("evaluation:"))
    end = next(i for i, text in enumerate(written, 1) if i > line and text[:1].isalpha())
    where = re.search(r"story\.yaml:(\d+): column 'prediction'", output)
    assert where is not None and line <= int(where.group(1)) < end, output  # a line of the evaluation block


def test_the_pdf_holds_the_regression_sections(tmp_path: Path) -> None:
    from pypdf import PdfReader

    frame = diabetes_scored()
    y, p = frame["actual"].to_numpy(), frame["prediction"].to_numpy()
    uri = stores.tracking_uri(tmp_path)
    run = stores.log_scored_run(uri, frame, metrics={"mae": mean_absolute_error(y, p),
                                                     "rmse": float(np.sqrt(mean_squared_error(y, p))),
                                                     "r2": r2_score(y, p), "bias": float(np.mean(p - y))})
    stores.write_project(tmp_path, {"progression": regression_story(run)})
    result = runner.invoke(app, ["build", str(tmp_path), "--pdf"])
    assert result.exit_code == 0, result.output
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(tmp_path / "site" / "progression.pdf").pages)
                    .split())
    assert "How far the forecasts land from what happened" in text
    assert "What mistakes cost" in text and "The expected cost is lowest when plans use the forecast plus" in text
    assert re.search(r"Out of 100 forecasts as made, \d+ are within 40 points of what happened", text)
    summary = " ".join(" ".join(page.extract_text() for page in
                                PdfReader(tmp_path / "site" / "progression.summary.pdf").pages).split())
    assert "The expected cost is lowest when plans use the forecast plus" in summary


def test_costs_that_are_both_zero_are_a_located_error(tmp_path: Path) -> None:
    uri = stores.tracking_uri(tmp_path)
    run = stores.log_scored_run(uri, diabetes_scored(), metrics={"mae": 1.0, "rmse": 1.0, "r2": 0.0, "bias": 0.0})
    story = regression_story(run)
    story["cost_of_error"] = {"unit": "minutes", "owner": "Planning", "over_forecast": 0, "under_forecast": 0}
    stores.write_project(tmp_path, {"progression": story})
    result = runner.invoke(app, ["build", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 1
    written = (tmp_path / "stories" / "progression" / "story.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(written, 1) if text.strip().startswith("over_forecast:"))
    assert f"story.yaml:{line}: both over_forecast and under_forecast are 0" in " ".join(result.output.split())
