"""The bundled example shows what drives its predictions and its history, on the page, in the PDF, and from a
pinned snapshot without MLflow."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from storybook.cli import app
from tests.fresh_process import build_in_fresh_process

STORY = "breast-cancer-screening"
runner = CliRunner()


def _client(project: Path) -> MlflowClient:
    uri = f"sqlite:///{project / 'mlflow' / 'mlflow.db'}"
    return MlflowClient(uri, uri)


def _cells(page: str, attribute: str) -> dict[str, str]:
    return {key: value.strip() for key, value in re.findall(rf'<td class="num" {attribute}="([^"]+)">([^<]+)', page)}


def _sklearn_importance(project: Path) -> pd.Series:
    """scikit-learn's own permutation_importance of the champion on its logged evaluation set, seed 0."""
    import mlflow.artifacts
    import mlflow.sklearn
    from sklearn.inspection import permutation_importance

    client = _client(project)
    champion = client.get_model_version_by_alias(STORY, "champion")
    model_dir = mlflow.artifacts.download_artifacts(
        artifact_uri=client.get_model_version_download_uri(STORY, champion.version), dst_path=str(project / "m"))
    model = mlflow.sklearn.load_model(model_dir)
    scored = pd.read_csv(client.download_artifacts(champion.run_id, "evaluation/scored.csv", str(project / "e")))
    features = list(model.feature_names_in_)
    result = permutation_importance(model, scored[features], scored["label"], scoring="accuracy", n_repeats=10,
                                    random_state=0)
    return pd.Series(result.importances_mean, index=features)


def test_example_page_and_pdf_tell_what_drives_it_and_its_history(project_copy: Path) -> None:
    from pypdf import PdfReader

    result = runner.invoke(app, ["build", str(project_copy), "--pdf"])
    assert result.exit_code == 0, result.output
    page = (project_copy / "site" / f"{STORY}.html").read_text()
    assert '<section id="drivers">' in page and '<section id="history">' in page
    assert 'href="#drivers"' in page and 'href="#history"' in page

    # Every importance on the page is scikit-learn's, to the two decimals shown (points out of 100).
    expected = _sklearn_importance(project_copy)
    shown = _cells(page, "data-driver")
    assert sorted(shown) == sorted(expected.index)
    for feature, value in expected.items():
        assert float(shown[feature]) == pytest.approx(value * 100, abs=0.006), feature
    top = expected.idxmax()
    names = {"mean concave points": "number of dents in the edge", "mean texture": "texture (variation in grey "
             "levels)", "mean perimeter": "length of the tumour's outline", "mean radius": "tumour size (radius)"}
    lead = re.search(r"<strong>(The model leans most on [^<]+)</strong>", page)
    assert lead is not None and names.get(str(top), str(top)) in lead.group(1).replace("&#39;", "'")
    assert f"{expected[top] * 100:.1f} points of accuracy out of 100" in lead.group(1)
    assert re.search(r'<img src="charts/breast-cancer-screening-drivers\.svg" alt="Chart of how much accuracy', page)

    # The timeline: both versions with the figures their runs logged and where the aliases moved.
    client = _client(project_copy)
    history = _cells(page, "data-history")
    for version in (1, 2):
        run = client.get_run(client.get_model_version(STORY, str(version)).run_id)
        logged = run.data.metrics["test_recall"]
        assert float(history[f"{version}-test_recall"]) == pytest.approx(logged, abs=5e-4)
    assert "champion moved to version 1" in page and "challenger moved to version 2" in page
    assert "MLflow records when each version was registered" in page
    assert "features: 10 → 30" in page
    assert re.search(r'<img src="charts/breast-cancer-screening-timeline\.svg" alt="Timeline of model '
                     r'breast-cancer-screening\. Events in order: 1\. ', page)

    pdf = "\n".join(p.extract_text() or "" for p in PdfReader(project_copy / "site" / f"{STORY}.pdf").pages)
    flat = re.sub(r"\s+", " ", pdf)
    assert "What drives the predictions" in flat and "The model's history" in flat
    assert "The model leans most on" in flat
    assert "MLflow records when each version was registered" in flat
    assert "champion moved to version 1" in flat


def test_a_pinned_example_shows_the_same_importance_without_mlflow(project_copy: Path) -> None:
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 0, result.output
    live = _cells((project_copy / "site" / f"{STORY}.html").read_text(), "data-driver")
    result = runner.invoke(app, ["pin", str(project_copy)])
    assert result.exit_code == 0, result.output
    story_dir = project_copy / "stories" / STORY
    pinned = pd.read_csv(story_dir / "snapshot" / "drivers.table.csv")
    assert list(pinned.columns) == ["slice", "group", "feature", "repeat", "drop"]
    assert len(pinned[pinned["slice"] == "(all)"]) == 10 * 10  # ten measurements, ten shuffles each
    assert (story_dir / "snapshot" / "history.scored.csv").is_file()

    shutil.rmtree(project_copy / "site")
    (project_copy / "mlflow" / "mlflow.db").unlink()  # only the snapshot can answer now
    shutil.rmtree(project_copy / ".storybook", ignore_errors=True)
    assert "mlflow" not in build_in_fresh_process(project_copy, "--offline", "--no-pdf")
    page = (project_copy / "site" / f"{STORY}.html").read_text()
    assert _cells(page, "data-driver") == live
    assert "champion moved to version 1" in page
