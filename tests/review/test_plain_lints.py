"""``storybook check``'s plain-language lints: jargon outside the glossary, percentages without a denominator,
score-like figures without a baseline and slice figures without a sample size, each on its file and line."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from storybook.analyse.glossary import build_glossary
from storybook.analyse.plain import Vocabulary
from storybook.cli import app
from storybook.review.plain_lints import (
    SliceNames,
    find_bare_percentages,
    find_jargon,
    find_metrics_without_baseline,
    find_slice_claims_without_size,
)

from .conftest import STORY

runner = CliRunner()
DEFINED = [spelling for term in build_glossary(Vocabulary()) for spelling in term.spellings]
PLAIN_CODES = {"jargon", "percent-without-denominator", "metric-without-baseline", "slice-without-size"}
SIZE = SliceNames("Tumour size", "size_band", ("small", "medium", "large"))
SITE = SliceNames("Screening site", "site", ("North clinic", "South clinic", "Mobile unit", "A"))


def test_jargon_first_use_per_file_unless_defined() -> None:
    text = ("The model is a classifier.\nIts recall is fine; the classifier uses softmax.\n"
            "`epoch` in code and [an epoch](https://e.org/epoch) link text.\n{{ param(\"epoch\") }}\n")
    found = find_jargon(text, DEFINED)
    assert [(f.line, f.message.split("'")[1]) for f in found] == [(1, "classifier"), (2, "softmax"), (3, "epoch")]
    assert all(f.code == "jargon" for f in found)
    assert find_jargon(text, [*DEFINED, "classifier", "softmax", "epoch"]) == []
    # A longer defined spelling is not flagged for a shorter jargon word inside it ("ROC AUC" holds "roc").
    assert find_jargon("The ROC AUC is reported.", DEFINED) == []
    assert [f.message.split("'")[1] for f in find_jargon("A precision-recall curve.", DEFINED)] == [
        "precision-recall"]


def test_percentages_need_a_denominator_in_their_sentence() -> None:
    text = ("It found 12% of cancers.\n"
            "It found 12% of 340 patients. It found 7.5 percent (3 out of 40).\n"
            "It flagged {{ metric(\"x\") | percent }} of the {{ evaluation.positives | count }} patients.\n"
            "It flagged {{ metric(\"x\") | percent }}\nof them, which is a lot.\n"
            "About 8 in 10 were found, 80% in all. Also 5/12 missed (42%).\n")
    found = find_bare_percentages(text)
    assert [(f.line, f.message.split("'")[1]) for f in found] == [(1, "12%"), (4, '{{ metric("x") | percent }}')]
    assert all(f.code == "percent-without-denominator" for f in found)


def test_score_like_figures_need_something_to_compare_with() -> None:
    text = ("The accuracy is 0.93.\n"
            "The AUC is 0.97, better than the old rule.\n"
            "Ranking: {{ metric(\"test_roc_auc\") | number }}.\n"
            "Ranking: {{ metric(\"test_roc_auc\") | number }}, where 0.5 is a coin toss.\n"
            "Recall: {{ metric(\"test_recall\") | percent }} of the 64.\n"
            "We care about accuracy.\n")
    kinds = {"test_roc_auc": "roc_auc", "test_recall": "recall"}
    found = find_metrics_without_baseline(text, kinds)
    assert [f.line for f in found] == [1, 3]
    assert found[1].message == "the test_roc_auc is given with nothing to compare it with"


def test_slice_figures_need_a_sample_size() -> None:
    text = ("For small tumours the model finds 42 in 100 cancers.\n"
            "For small tumours (55 patients, 3 with cancer) it finds 2 of 3.\n"
            "At the North clinic it found {{ metric(\"x\") | percent }} of them.\n"
            "At the North clinic ({{ evaluation.size | count }} patients) it is similar, 0.8.\n"
            "A small share, 0.2, of all scans.\n"
            "By tumour size the recall is 0.9.\n"
            "In screening round A the recall was 0.7.\n"
            "Screening found a share of 0.8.\n")
    found = find_slice_claims_without_size(text, [SIZE, SITE])
    assert [(f.line, f.message) for f in found] == [
        (1, "a figure for a group (small) without the number of cases it rests on"),
        (3, "a figure for a group (North clinic) without the number of cases it rests on"),
        (7, "a figure for a group (A) without the number of cases it rests on"),
    ]


def test_a_sentence_about_the_overall_figure_is_not_a_slice_claim() -> None:
    band = SliceNames("Age band", "age_band", ("1", "2", "3", "9"))
    overall = ("Overall, across every tumour size and screening site, the model finds 9 in 10 cancers.\n"
               "By age band the recall is 0.9 overall, and 9 in 10 patients of every age are found.\n"
               "In all, the tumour size slice shows 0.8.\n")
    assert find_slice_claims_without_size(overall, [SIZE, SITE, band]) == []
    groups = ("In age band 9 the recall is 0.6.\n"
              "Small tumours: the model finds 0.5 of them.\n"
              "In age band 3 (41 patients) the recall is 0.7.\n")
    found = find_slice_claims_without_size(groups, [SIZE, SITE, band])
    assert [(f.line, f.message) for f in found] == [
        (1, "a figure for a group (9) without the number of cases it rests on"),
        (2, "a figure for a group (small) without the number of cases it rests on"),
    ]


def _check(project: Path) -> list[dict[str, object]]:
    result = runner.invoke(app, ["check", str(project), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return list(json.loads(result.stdout)["findings"])


def test_bundled_example_has_no_plain_language_findings(pinned_copy: Path) -> None:
    assert [f for f in _check(pinned_copy) if f["code"] in PLAIN_CODES] == []


def test_check_reports_each_lint_on_its_markdown_line(pinned_copy: Path) -> None:
    story = pinned_copy / "stories" / STORY
    section = story / "quantitative-analyses.md"
    section.write_text("Overall the model does well.\n\n"
                       "Its accuracy is 0.95 and it uses a confusion matrix.\n"
                       "It finds 90% of cancers.\n"
                       "For medium tumours it finds {{ metric(\"test_recall\") | percent }} of the "
                       "{{ evaluation.positives | count }}.\n"
                       "At the Mobile unit it finds 3 in 4, 0.75.\n")
    findings = [f for f in _check(pinned_copy) if f["code"] in PLAIN_CODES]
    got = sorted((int(str(f["line"])), str(f["code"])) for f in findings)
    assert got == [(3, "jargon"), (3, "metric-without-baseline"), (4, "percent-without-denominator"),
                   (6, "slice-without-size")]
    assert all(str(f["file"]).endswith("quantitative-analyses.md") and f["severity"] == "warning"
               for f in findings)
    assert all("(fix: " in str(f["message"]) for f in findings)

    # Defining the word in story.yaml's glossary silences the jargon finding.
    story_yaml = story / "story.yaml"
    data = yaml.safe_load(story_yaml.read_text())
    data.setdefault("glossary", {})["confusion matrix"] = {"plain": "A table of right and wrong calls."}
    story_yaml.write_text(yaml.safe_dump(data, sort_keys=False))
    codes = {str(f["code"]) for f in _check(pinned_copy)}
    assert "jargon" not in codes and "metric-without-baseline" in codes


def test_the_bundled_stories_read_plainly_by_the_lints() -> None:
    """The example's own sections (the repository's stories/) give no plain-language warning: each one would be
    either a sentence to fix or a false warning in front of the first user who runs ``storybook check``."""
    from storybook.review.plain_lints import story_prose_findings
    from storybook.sources.loader import StorySource, load_project

    project = load_project(Path(__file__).resolve().parents[2])
    stories = [story for story in project.stories if isinstance(story, StorySource)]
    assert {story.slug for story in stories} >= {"breast-cancer-screening", "student-support",
                                                 "diabetes-progression"}
    found = [(path.name, f.line, f.code, f.message) for story in stories
             for path, f in story_prose_findings(story, None)]
    assert found == []
    # The lint still reads the balanced-accuracy sentence: without its count of students it is flagged.
    student = next(story for story in stories if story.slug == "student-support")
    text = student.sections["metrics"].text.replace("however many of the {{ evaluation.size | count }} students",
                                                    "however many students")
    assert [f.code for f in find_bare_percentages(text)] == ["percent-without-denominator"] * 2
