"""Every audience version carries the story's capacity: the bundled example on its real sqlite MLflow store,
with room for 40 of every 100 patients (the cheapest threshold with no limit would send about 56). The summary,
the full page and the compliance PDF recommend only a threshold that keeps within it, say that the limit
binds, and tell the same sentences; each printed threshold, applied to the logged scored set, gives the cost
printed beside it."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from pypdf import PdfReader
from typer.testing import CliRunner

from storybook.cli import app

STORY = "breast-cancer-screening"
runner = CliRunner()


def _text(markup: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def _section(markup: str, section_id: str) -> str:
    return _text(markup.split(f'<section id="{section_id}">', 1)[1].split("</section>", 1)[0])


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text) if len(s.split()) >= 4]


def _pdf_text(path: Path) -> str:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def _scored(project: Path) -> pd.DataFrame:
    uri = f"sqlite:///{project / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    run_id = client.get_model_version_by_alias(STORY, "champion").run_id
    return pd.read_csv(client.download_artifacts(run_id, "evaluation/scored.csv", str(project / "dl")))


def test_capacity_binds_the_summary_page_and_pdf_alike(project_copy: Path) -> None:
    story_yaml = project_copy / "stories" / STORY / "story.yaml"
    source, stated = story_yaml.read_text(), "  population: 1000\n  capacity: 300\n"
    assert stated in source
    story_yaml.write_text(source.replace(stated, "  population: 100\n  capacity: 40\n"))
    result = runner.invoke(app, ["build", str(project_copy), "--pdf"])
    assert result.exit_code == 0, result.output
    site = project_copy / "site"
    page_html = (site / f"{STORY}.html").read_text()
    page = _section(page_html, "cost-of-error")
    summary_html = (site / f"{STORY}.summary.html").read_text()
    summary = _text(summary_html.split('<section id="summary-cost">', 1)[1].split("<p>", 1)[1].split("</p>", 1)[0])
    compliance = _pdf_text(site / f"{STORY}.pdf").replace(",", "")

    scored = _scored(project_copy)
    truth, scores = scored["label"].to_numpy() == 1, scored["score"].to_numpy()
    n = len(scores)

    def cost_at(threshold: float) -> float:
        flagged = scores >= threshold
        return float(((flagged & ~truth).sum() * 1.5 + (~flagged & truth).sum() * 40) / n * 100)

    candidates = [*sorted(set(scores)), np.nextafter(scores.max(), np.inf)]
    unlimited = min(candidates, key=lambda t: (cost_at(t), -t))
    assert (scores >= unlimited).sum() / n > 0.40  # the cheapest threshold overall would break the capacity
    allowed = [t for t in candidates if (scores >= t).sum() <= 0.40 * n]
    lowest = min(cost_at(t) for t in allowed)

    # The summary says the page's own sentences: the limit, that it binds, and the choice within it.
    told = _sentences(summary)
    assert "There is room for at most 40 out of every 100 patients." in told
    assert any(s.startswith("Without that limit, the cheapest choice would have") for s in told), told
    for sentence in told:
        assert sentence in page, sentence
        assert sentence.replace(",", "") in compliance, sentence  # the compliance PDF prints the page
    recommended = re.search(r"Within that limit, a threshold of ([\d.]+) would cost about ([\d,]+) hours of "
                            r"specialist time for every 100 patients", summary)
    assert recommended is not None, summary
    # Applied as a reader would, the printed threshold gives the printed cost, the cheapest within the limit.
    at = float(recommended.group(1))
    assert f"{cost_at(at):,.0f}" == recommended.group(2) == f"{lowest:,.0f}"
    assert (scores >= at).sum() <= 0.40 * n

    # No version offers a threshold that breaks the capacity.
    for version in (page, summary, compliance):
        for printed in re.findall(r"threshold of ([\d.]+)", version):
            assert (scores >= float(printed)).sum() <= 0.40 * n, (printed, version)

    # The counts at the recommended threshold: out of 100, within one of the exact share, and within the limit.
    then = re.search(r"Out of 100 patients, (\d+) would then be put at the front of the queue: (\d+) of them have "
                     r"a malignant tumour and (\d+) do not\. Of the (\d+) who have a malignant tumour, (\d+) would be "
                     r"missed\.", page)
    assert then is not None, page
    flagged, tp, fp, positives, missed = (int(g) for g in then.groups())
    exact = scores >= at
    assert flagged <= 40 and flagged == tp + fp and positives == tp + missed
    assert abs(tp - (exact & truth).sum() / n * 100) < 1 and abs(missed - (~exact & truth).sum() / n * 100) < 1
    # One section, one number of patients who have a malignant tumour.
    assert set(re.findall(r"Of the (\d+) who have a malignant tumour", page)) == {str(positives)}

    # Sentence ends and sources read as sentences anywhere on the page.
    whole = _text(page_html)
    assert ".." not in whole.replace("...", "") and "comes from set in" not in whole
