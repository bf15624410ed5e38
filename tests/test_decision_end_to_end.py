"""The example's decision brief, end to end: trained into a real MLflow store, built into the page and the PDF,
its figures checked against scikit-learn on the scored evaluation sets MLflow holds for both versions."""

from __future__ import annotations

import math
import re
from pathlib import Path

import mlflow.artifacts
import pandas as pd
from mlflow.tracking import MlflowClient
from pypdf import PdfReader
from sklearn.metrics import confusion_matrix, recall_score
from typer.testing import CliRunner

from storybook.cli import app

STORY = "breast-cancer-screening"
runner = CliRunner()


def _scored(project: Path, alias: str) -> pd.DataFrame:
    uri = f"sqlite:///{project / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    version = client.get_model_version_by_alias("breast-cancer-screening", alias)
    mlflow.set_tracking_uri(uri)
    local = mlflow.artifacts.download_artifacts(run_id=version.run_id, artifact_path="evaluation/scored.csv",
                                                dst_path=str(project / ".downloads" / alias),
                                                tracking_uri=uri)
    return pd.read_csv(local)


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_the_example_page_and_pdf_carry_the_decision_brief(project_copy: Path) -> None:
    result = runner.invoke(app, ["build", str(project_copy), "--pdf"])
    assert result.exit_code == 0, result.output

    # By hand, with scikit-learn: both versions flag scores of 0.5 or more (the run's threshold param).
    figures = {}
    for alias in ("champion", "challenger"):
        frame = _scored(project_copy, alias)
        flagged = (frame["score"] >= 0.5).astype(int)
        _, fp, fn, tp = confusion_matrix(frame["label"], flagged).ravel()
        figures[alias] = (recall_score(frame["label"], flagged), (fp * 1.5 + fn * 40) / len(frame) * 1000, tp + fn)
    (recall_1, cost_1, positives), (recall_2, cost_2, _) = figures["champion"], figures["challenger"]
    saving = cost_1 - cost_2
    points = math.floor((recall_2 - recall_1) * 100 + 0.5)   # halves up, as a reader rounds

    html = (project_copy / "site" / f"{STORY}.html").read_text()
    # Near the top: right after the title page, before the first model-card section, first in the contents.
    assert html.index('<section id="decision"') < html.index('<section id="model-details"')
    assert re.search(r'<nav class="toc[^"]*"[^>]*>\s*<ol><li><a href="#decision">The decision</a>', html)
    section = html[html.index('<section id="decision"'):]
    section = section[:section.index("</section>")]
    page = _plain(re.sub(r"<[^>]+>", "", section))  # glossary links sit inside sentences
    assert "The decision: Should version 2 (the challenger) replace version 1 (the champion)" in page
    assert "Storybook recommends: Go with conditions. Make version 2 the champion, but only once" in page
    share_1, share_2 = math.floor(recall_1 * 100 + 0.5), math.floor(recall_2 * 100 + 0.5)
    assert f"{share_2} in 100 for version 2 (challenger), measured on {positives} patients" in page
    assert f"{share_1} in 100 for version 1 (champion), the version in use, measured on the same {positives}" in page
    assert "Switching from version 1 (champion), the version in use, to version 2 (challenger)" in page
    assert f"version 2 (challenger) is {points} points better" in page
    assert f"a saving of {saving:,.0f} hours of specialist time for every 1,000 patients" in page
    outcomes = re.findall(r'<span class="outcome outcome-([a-z-]+)">', section)
    assert outcomes == ["holds", "holds", "holds", "holds", "holds", "fails"]
    assert "Fix the scanner feed that reports tumour areas in other units since 29 September" in page
    for anchor in ("#trust", "#cost-of-error"):
        assert f'href="{anchor}"' in section   # each ground links to the section that computed it
    assert "have changed" not in page and "Overruled" not in page   # nothing signed yet

    reader = PdfReader(str(project_copy / "site" / f"{STORY}.pdf"))
    first_pages = _plain(" ".join(reader.pages[i].extract_text() for i in range(1, 4)))
    assert _plain(reader.pages[1].extract_text()).startswith("The decision: Should version 2 (the challenger)")
    assert "Storybook recommends: Go with conditions. Make version 2 the champion" in first_pages
    assert f"version 2 (challenger) is {points} points better" in first_pages
    # (the sentence may run over a page break, where the PDF's text holds the page footer)
    assert f"a saving of {saving:,.0f} hours of specialist time for every" in first_pages
    assert "Holds Version 2 finds at least 8 in 10 malignant tumours (required for go)" in first_pages
    assert "Fails The average predicted chance stayed within its guardrails in production" in first_pages
