"""The bundled example, end to end: a real MLflow store, a real build, the figures read back from the page."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from storybook.cli import app
from storybook.sources.sections import CARD_SECTIONS
from tests.stores import copy_project

STORY = "breast-cancer-screening"
runner = CliRunner()


class _Cells(HTMLParser):
    """Collects the text of elements with data-metric, and every id and section id."""

    def __init__(self) -> None:
        super().__init__()
        self.metrics: dict[str, str] = {}
        self.ids: set[str] = set()
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(str(attributes["id"]))
        if "data-metric" in attributes:
            self._current = str(attributes["data-metric"])
            self.metrics[self._current] = ""

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self.metrics[self._current] += data

    def handle_endtag(self, tag: str) -> None:
        self._current = None


def _mlflow_client(project: Path) -> MlflowClient:
    uri = f"sqlite:///{project / 'mlflow' / 'mlflow.db'}"
    return MlflowClient(uri, uri)


def test_example_builds_a_model_card_whose_figures_equal_mlflow(project_copy: Path) -> None:
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 0, result.output
    page = (project_copy / "site" / f"{STORY}.html").read_text()

    client = _mlflow_client(project_copy)
    champion = client.get_model_version_by_alias("breast-cancer-screening", "champion")
    run = client.get_run(champion.run_id)
    cells = _Cells()
    cells.feed(page)
    for key in ("test_recall", "test_precision", "test_specificity", "test_roc_auc", "test_brier"):
        assert float(cells.metrics[key]) == pytest.approx(run.data.metrics[key], abs=5e-5), key
    # The prose reference {{ metric("test_recall") | percent }} shows the same number, linked to provenance.
    recall_percent = f"{run.data.metrics['test_recall'] * 100:.0f}%"
    assert re.search(rf'<a href="#prov-metric-test-recall"[^>]*>{re.escape(recall_percent)}</a>', page)
    assert champion.run_id in page
    # Both registered versions are listed with the aliases they hold.
    assert "<td>1</td>" in page and "<td>champion</td>" in page and "<td>challenger</td>" in page
    # Every Mitchell et al. section is present and has content, plus the provenance appendix.
    for section_id in CARD_SECTIONS:
        assert section_id in cells.ids, section_id
        body = page.split(f'<section id="{section_id}">', 1)[1].split("</section>", 1)[0]
        assert len(re.sub(r"<[^>]+>", "", body).split()) > 5, section_id
    assert "prov-metric-test-recall" in cells.ids
    # Charts are static SVG files with alt text that states what they show.
    assert re.search(r'<img src="charts/[^"]+\.svg" alt="Chart of share of cases found by tumour size\. ', page)
    for svg in (project_copy / "site" / "charts").glob("*.svg"):
        assert svg.read_text().lstrip().startswith("<svg")
    index = (project_copy / "site" / "index.html").read_text()
    assert f'href="{STORY}.html"' in index


def test_slice_table_counts_match_the_logged_evaluation_set(project_copy: Path) -> None:
    import pandas as pd

    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 0, result.output
    client = _mlflow_client(project_copy)
    champion = client.get_model_version_by_alias("breast-cancer-screening", "champion")
    scored = pd.read_csv(client.download_artifacts(champion.run_id, "evaluation/scored.csv",
                                                   str(project_copy / "dl")))
    page = (project_copy / "site" / f"{STORY}.html").read_text()
    assert f"tested on {len(scored)} patients" in page
    for band, group in scored.groupby("size_band"):
        flagged = group["score"] >= 0.5
        found = int((flagged & (group["label"] == 1)).sum())
        positives = int((group["label"] == 1).sum())
        row = re.search(rf'<th scope="row">{band}[^<]*(?:<span[^>]*>[^<]*</span>)?</th>'
                        rf'<td class="num">(\d+)</td><td class="num">(\d+)</td>\s*<td class="num">([^<]+)', page)
        assert row is not None, band
        assert (int(row.group(1)), int(row.group(2))) == (len(group), positives)
        assert row.group(3).strip() == _worded(found, positives)


def _worded(successes: int, n: int) -> str:
    """The wording rules of analyse/plain.py redone from scipy's Wilson interval, at storybook.yaml's wording
    (intervals at most 10 in 100 wide read "about", fewer than 10 cases "too few cases to say")."""
    import math

    from scipy.stats import binomtest

    if n == 0:
        return "no cases"
    if n < 10:
        return "too few cases to say"
    ci = binomtest(successes, n).proportion_ci(method="wilson")
    if ci.high - ci.low > 0.1 + 1e-12:
        return f"between {round(ci.low * 100)} and {round(ci.high * 100)} in 100"
    about = round(successes / n * 100)
    if about >= 100:
        return f"at least {math.floor(ci.low * 100 + 1e-12)} in 100"
    return f"at most {math.ceil(ci.high * 100 - 1e-12)} in 100" if about <= 0 else f"about {about} in 100"


def test_broken_story_gives_located_error_and_exit_1_while_good_story_builds(project_copy: Path) -> None:
    broken = project_copy / "stories" / "broken-story"
    shutil.copytree(project_copy / "stories" / STORY, broken)
    text = (broken / "story.yaml").read_text()
    (broken / "story.yaml").write_text(text.replace("key: test_precision", "key: test_precisoin"))
    lines = (broken / "story.yaml").read_text().splitlines()
    line = next(number for number, text in enumerate(lines, 1) if "test_precisoin" in text)

    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 1
    assert f"story.yaml:{line}: metric 'test_precisoin' is not logged on run" in result.output
    assert "test_precision" in result.output  # the fix lists what is logged
    assert "Traceback" not in result.output
    assert (project_copy / "site" / f"{STORY}.html").is_file()
    assert not (project_copy / "site" / "broken-story.html").exists()
    index = (project_copy / "site" / "index.html").read_text()
    assert "Not built" in index and "test_precisoin" in index  # never built before: nothing to keep


def test_unknown_alias_names_the_aliases_that_exist(project_copy: Path) -> None:
    story_file = project_copy / "stories" / STORY / "story.yaml"
    story_file.write_text(story_file.read_text().replace("alias: champion", "alias: champoin"))
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 1
    assert "model breast-cancer-screening@champoin is not in the model registry" in result.output
    assert "challenger, champion" in result.output
    assert re.search(r"story\.yaml:\d+: ", result.output)


def test_project_config_error_exits_2_and_writes_nothing(project_copy: Path) -> None:
    config = project_copy / "storybook.yaml"
    config.write_text(config.read_text() + "\nsite_dri: elsewhere\n")
    result = runner.invoke(app, ["build", str(project_copy)])
    assert result.exit_code == 2
    assert "unknown key 'site_dri'. Did you mean 'site_dir'?" in result.output
    assert "storybook.yaml:" in result.output
    assert not (project_copy / "site").exists()


def test_pdf_is_written_and_holds_the_card(project_copy: Path) -> None:
    from pypdf import PdfReader

    result = runner.invoke(app, ["build", str(project_copy), "--pdf", "--story", STORY])
    assert result.exit_code == 0, result.output
    reader = PdfReader(project_copy / "site" / f"{STORY}.pdf")
    text = "\n".join(page.extract_text() for page in reader.pages)
    for title in CARD_SECTIONS.values():
        assert title in text, title
    assert "Where the numbers come from" in text
    assert "What mistakes cost" in text and "The threshold that costs least" in text
    assert "How far to trust it" in text and "Signed off" in text
    assert "no snapshot was pinned" in " ".join(text.split())
    assert re.search(r"Out of 1,000 patients, \d+ are put at the front of the queue", " ".join(text.split()))
    assert re.search(r"Page 1 of \d+", text)


def test_rebuild_replaces_the_site_and_refuses_foreign_folders(project_copy: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["build", str(project_copy), "--no-pdf"]).exit_code == 0
    stale = project_copy / "site" / "stale.html"
    stale.write_text("old")
    assert runner.invoke(app, ["build", str(project_copy), "--no-pdf"]).exit_code == 0
    assert not stale.exists()
    assert not list(project_copy.glob(".site.*"))
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("precious")
    result = runner.invoke(app, ["build", str(project_copy), "--out", str(foreign), "--no-pdf"])
    assert result.exit_code == 1
    assert "was not written by storybook" in result.output
    assert (foreign / "notes.txt").read_text() == "precious"
    result = runner.invoke(app, ["build", str(project_copy), "--out", str(project_copy), "--no-pdf"])
    assert "holds the project's sources" in result.output


def test_help_reads_like_a_mature_cli() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "build" in result.output and "example" in result.output
    result = runner.invoke(app, ["build", "--help"])
    assert "Exit codes: 0 every story built" in result.output
    assert "--out" in result.output and "--pdf" in result.output


def _text(html: str) -> str:
    import html as html_module

    return re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", html)))


def test_cost_of_error_story_agrees_with_sklearn_at_every_threshold(project_copy: Path) -> None:
    """The page's lowest-cost threshold and natural frequencies, recomputed independently with scikit-learn."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import confusion_matrix

    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 0, result.output
    client = _mlflow_client(project_copy)
    run_id = client.get_model_version_by_alias("breast-cancer-screening", "champion").run_id
    scored = pd.read_csv(client.download_artifacts(run_id, "evaluation/scored.csv", str(project_copy / "dl")))
    truth, scores = scored["label"].to_numpy(), scored["score"].to_numpy()
    cost_fp, cost_fn = 1.5, 40.0  # as stated in the example's story.yaml

    def cost_at(threshold: float) -> tuple[float, np.ndarray]:
        tn, fp, fn, tp = confusion_matrix(truth, scores >= threshold, labels=[0, 1]).ravel()
        return (fp * cost_fp + fn * cost_fn) / len(truth) * 1000, np.array([tp, fp, tn, fn])

    # The story allows at most 300 of every 1,000 to be flagged: the cheapest threshold among those that do.
    candidates = [*sorted(set(scores)), np.nextafter(scores.max(), np.inf)]
    allowed = [t for t in candidates if (scores >= t).sum() <= 0.3 * len(scores)]
    costs = [cost_at(t)[0] for t in allowed]
    lowest = min(costs)
    current_cost, cells = cost_at(0.5)

    page = (project_copy / "site" / f"{STORY}.html").read_text()
    section = _text(page.split('<section id="cost-of-error">', 1)[1].split("</section>", 1)[0])
    recommended = re.search(r"Within that limit, a threshold of ([\d.]+) would cost about ([\d,]+) hours of "
                            r"specialist time for every 1,000 patients", section)
    assert recommended is not None, section
    # The printed threshold, applied as a reader would (flag a score at or above it), gives the printed cost.
    assert f"{cost_at(float(recommended.group(1)))[0]:,.0f}" == recommended.group(2) == f"{lowest:,.0f}"
    assert f"{current_cost:,.0f} hours of specialist time for every 1,000 patients" in section
    assert len(set(re.findall(r"Of the ([\d,]+) who have a malignant tumour", section))) == 1
    found = re.search(r"Out of 1,000 patients, (\d+) are put at the front of the queue: (\d+) of them have a "
                      r"malignant tumour and (\d+) do not\. Of the (\d+) who have a malignant tumour, (\d+) are "
                      r"missed\.", section)
    assert found is not None, section[:600]
    flagged, tp, fp, positives, fn = (int(g) for g in found.groups())
    exact = cells / len(truth) * 1000
    assert abs(tp - exact[0]) < 1 and abs(fp - exact[1]) < 1 and abs(fn - exact[3]) < 1
    assert flagged == tp + fp and positives == tp + fn
    assert "Who carries the mistakes" in section
    assert '<img src="charts/breast-cancer-screening-icons.svg" alt="Picture of 1,000 patients, one square' in page


def test_cost_story_from_confusion_counts_only_says_the_sweep_needs_scores(trained_project: Path,
                                                                          tmp_path: Path) -> None:
    """A run with only confusion counts at one threshold: the story is told there, and says what is missing."""
    import yaml

    project = tmp_path / "counts"
    copy_project(trained_project, project)
    story_file = project / "stories" / STORY / "story.yaml"
    data = yaml.safe_load(story_file.read_text())
    data.pop("slices")
    data.pop("drivers")  # shuffling features needs the scored set's rows
    data.pop("decision")  # one of its grounds reads the site slice, popped above
    data["claims"] = [claim for claim in data["claims"] if "slice" not in claim]  # no slices any more
    metrics_md = story_file.parent / "metrics.md"
    metrics_md.write_text(metrics_md.read_text().replace('{{ claim("clinics-alike") }}', ""))
    data["evaluation"].pop("artifact")
    data["evaluation"]["counts"] = {"tp": "test_tp", "fp": "test_fp", "tn": "test_tn", "fn": "test_fn"}
    story_file.write_text(yaml.safe_dump(data, sort_keys=False))
    result = runner.invoke(app, ["build", str(project), "--no-pdf"])
    assert result.exit_code == 0, result.output
    client = _mlflow_client(project)
    metrics = client.get_run(client.get_model_version_by_alias("breast-cancer-screening", "champion").run_id
                             ).data.metrics
    tp, fp, tn, fn = (metrics[f"test_{k}"] for k in ("tp", "fp", "tn", "fn"))
    section = _text((project / "site" / f"{STORY}.html").read_text().split('<section id="cost-of-error">')[1])
    n = tp + fp + tn + fn
    assert f"That costs about {(fp * 1.5 + fn * 40) / n * 1000:,.0f} hours of specialist time" in section
    assert "cannot work out what another threshold would cost" in section
    assert "Using a threshold of" not in section


def test_trust_report_flags_the_shift_the_example_was_built_with(project_copy: Path) -> None:
    from datetime import timedelta

    from storybook.analyse.plain import format_date
    from storybook.example import SHIFT_DAY, START

    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 0, result.output
    page = (project_copy / "site" / f"{STORY}.html").read_text()
    section = _text(page.split('<section id="trust">', 1)[1].split("</section>", 1)[0])
    shift_day = format_date(int((START + timedelta(days=SHIFT_DAY - 1)).timestamp() * 1000))
    assert shift_day == "29 September 2026"
    assert f"first broke its guardrails (0.20 to 0.60) on {shift_day}" in section
    assert f"The average predicted chance of a malignant tumour changed on {shift_day}" in section
    # The unit change shows up as data shift, in the right feature, by the name the story gives it (drivers.names).
    assert "tumour area changed a lot" in section and "mean area changed" not in section
    for area in ("model", "data", "system"):
        assert re.search(rf"The {area} (None|Emerging|Established|Strong)", section), area
    assert "Signed: Every flag the model raises is read by a specialist" in section
    assert "ML Test Score" in section
    assert re.search(r'<img src="charts/breast-cancer-screening-guard-production_mean_score\.svg" alt="[^"]*'
                     r'a red line marks the change on 29 September 2026', page)


def test_page_shows_who_signed_and_when_and_goes_stale(project_copy: Path) -> None:
    assert runner.invoke(app, ["pin", str(project_copy)]).exit_code == 0  # only a pinned story can be signed
    result = runner.invoke(app, ["sign", STORY, "--name", "Dr. Amara Okafor", "--role", "clinical lead",
                                 "--project", str(project_copy)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["build", str(project_copy), "--no-pdf"]).exit_code == 0
    page = _text((project_copy / "site" / f"{STORY}.html").read_text())
    assert re.search(r"Signed off Dr\. Amara Okafor \(clinical lead\), \d{4}-\d{2}-\d{2}", page)
    assert "signed an earlier version" not in page
    section = project_copy / "stories" / STORY / "metrics.md"
    section.write_text(section.read_text() + "\nOne more sentence.\n")
    assert runner.invoke(app, ["build", str(project_copy), "--no-pdf"]).exit_code == 0
    page = _text((project_copy / "site" / f"{STORY}.html").read_text())
    assert "Dr. Amara Okafor (clinical lead)" in page and "signed an earlier version" in page


def test_quarto_backend_without_quarto_says_how_to_install_it(project_copy: Path) -> None:
    result = runner.invoke(app, ["build", str(project_copy), "--backend", "quarto"], env={"PATH": "/usr/bin:/bin"})
    assert result.exit_code == 2
    assert "needs the `quarto` command" in result.output and "quarto.org" in result.output
    assert not (project_copy / "site").exists()


def test_offline_build_from_a_pin_names_the_snapshot_it_used(project_copy: Path) -> None:
    import hashlib

    assert runner.invoke(app, ["pin", str(project_copy)]).exit_code == 0
    snapshot = project_copy / "stories" / STORY / "snapshot.json"
    result = runner.invoke(app, ["build", str(project_copy), "--offline", "--no-pdf"])
    assert result.exit_code == 0, result.output
    page = (project_copy / "site" / f"{STORY}.html").read_text()
    assert f"sha256 <code>{hashlib.sha256(snapshot.read_bytes()).hexdigest()}</code>" in page


def test_a_project_copy_logs_into_its_own_artifacts_not_the_shared_store(trained_project: Path,
                                                                          project_copy: Path) -> None:
    """MLflow stores absolute artifact locations: a copied store must point at the copy's own artifacts, or a test
    that logs into its copy changes the session's example for every later test."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{project_copy / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    run_id = client.get_model_version_by_alias(STORY, "champion").run_id
    assert run_id is not None
    assert str(project_copy.resolve()) in str(client.get_run(run_id).info.artifact_uri)
    client.log_text(run_id, "planted\n", "evaluation/scored.csv")
    shared = f"sqlite:///{trained_project / 'mlflow' / 'mlflow.db'}"
    original = MlflowClient(shared, shared).get_run(run_id).info.artifact_uri
    assert str(trained_project.resolve()) in str(original)
    assert (Path(str(original).removeprefix("file://")) / "evaluation" / "scored.csv").read_text() != "planted\n"
