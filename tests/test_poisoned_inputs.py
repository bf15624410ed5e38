"""Issue 24, classes 2 and 3: no input crashes the process, and values from MLflow are text.

Each test builds a site (or checks a project) in which poisoned stories stand beside the good example story:
the good one is published, each poisoned one fails alone with a located error (or builds, when its poison is
only shown), the exit code is 1, and nothing reaches the terminal as a traceback or a control sequence.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from tests.conftest import copy_example_story as _story

STORY = "breast-cancer-screening"
runner = CliRunner()
DAY_MS = 86_400_000
START_MS = 1_790_000_000_000


def _client(project: Path) -> tuple[object, str]:
    """An MlflowClient on the project's own store, and the run the example's champion was registered from."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{project / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run_id = client.get_model_version_by_alias(STORY, "champion").run_id
    assert run_id is not None
    return client, run_id


def _log_series(project: Path, key: str, points: list[tuple[int, float]]) -> None:
    from mlflow.entities import Metric

    client, run_id = _client(project)
    metrics = [Metric(key, value, timestamp, step) for step, (timestamp, value) in enumerate(points)]
    for start in range(0, len(metrics), 1000):  # MLflow takes at most 1,000 metrics a request
        client.log_batch(run_id, metrics=metrics[start:start + 1000])  # type: ignore[attr-defined]


def _line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def _use_series(key: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """The story's production series (drawn, guarded, claimed) replaced by ``key``."""
    return (("key: production_mean_score\n", f"key: {key}\n"), ("series: production_mean_score", f"series: {key}"))


def test_poisoned_stories_fail_alone_and_the_good_one_is_published(project_copy: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # A far-future reading (past year 9999) and a NaN reading in the guarded production series.
    _log_series(project_copy, "far_future", [(START_MS + day * DAY_MS, 0.3) for day in range(20)]
                + [(253_402_300_800_000 + DAY_MS, 0.3)])
    _log_series(project_copy, "not_a_number", [(START_MS + day * DAY_MS, float("nan") if day == 7 else 0.3)
                                              for day in range(20)])
    future = _story(project_copy, "far-future", *_use_series("far_future"))
    nan = _story(project_copy, "nan-reading", *_use_series("not_a_number"))
    twice = _story(project_copy, "sliced-twice", ("slices:\n", "slices:\n  - column: site\n    label: Site again\n"))
    # Control characters in a label that goes to the chart engine (it aborted the process) and in the title.
    escaped = _story(project_copy, "escape-codes", ("label: Tumour size", 'label: "Tumour \\x1b[31m\\x00size"'),
                     ("title: Which", 'title: "\\x1b]0;owned\\x07\\u202eWhich'), ("first?", 'first?"'))
    _story(project_copy, "surprise")

    # An error nobody foresaw (standing in for a bug) in one story's analysis.
    import storybook.analyse.story as composer

    real = composer.analyse_story

    def analyse(story: object, resolved: object) -> object:
        if getattr(story, "slug", "") == "surprise":
            raise RuntimeError("a bug \x1b[2J in the analysis")
        return real(story, resolved)  # type: ignore[arg-type]

    monkeypatch.setattr(composer, "analyse_story", analyse)

    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf", "--jobs", "1"])
    output = result.output
    assert result.exit_code == 1, output
    assert "2 built, 4 failed" in output
    site = project_copy / "site"
    for slug in (STORY, "escape-codes"):
        assert (site / f"{slug}.html").is_file(), slug
    for slug in ("far-future", "nan-reading", "sliced-twice", "surprise"):
        assert f"failed {slug}" in output and not (site / f"{slug}.html").exists(), slug

    series_line = _line_of(future / "story.yaml", "key: far_future")
    assert (f"stories/far-future/story.yaml:{series_line}: series 'far_future' has a reading (step 20) logged at "
            "253,402,387,200,000 ms since 1970, which is no calendar date") in output
    assert (f"stories/nan-reading/story.yaml:{_line_of(nan / 'story.yaml', 'key: not_a_number')}: series "
            "'not_a_number' has a reading (step 7) whose value is nan") in output
    assert (f"stories/sliced-twice/story.yaml:{_line_of(twice / 'story.yaml', 'slices:')}: slices: slice column "
            "'site' is listed twice") in output
    assert ("stories/surprise/story.yaml: unexpected error (RuntimeError) while analysing and rendering this "
            "story; run with --debug for the traceback") in output
    assert "Traceback" not in output and "\x1b" not in output and "a bug" not in output

    # The label's control characters are gone from the charts; the title's are shown, not obeyed.
    charts = list((site / "charts").glob("escape-codes-*.svg"))
    assert charts and all("\x1b" not in chart.read_text() and "\x00" not in chart.read_text() for chart in charts)
    assert any("Tumour [31msize" in chart.read_text() for chart in charts)
    assert escaped.is_dir()

    # --debug shows the surprise's traceback (its control characters written out).
    debug = runner.invoke(app, ["--debug", "build", str(project_copy), "--no-pdf", "--jobs", "1",
                                "--story", "surprise"])
    assert debug.exit_code == 1
    assert "Traceback (most recent call last)" in debug.output
    assert "RuntimeError: a bug \\x1b[2J in the analysis" in debug.output and "\x1b" not in debug.output

    # check: the same stories fail alone, with the same located words; no traceback, no control sequence.
    for output_format in ("text", "github"):
        checked = runner.invoke(app, ["check", str(project_copy), "--online", "--format", output_format])
        assert checked.exit_code == 1, checked.output
        assert "Traceback" not in checked.output and "\x1b" not in checked.output
        assert "unexpected error (RuntimeError) while checking this story" in checked.output
        assert "'site' is listed twice" in checked.output and "whose value is nan" in checked.output
        errors = [line for line in checked.output.splitlines() if ": error " in line or line.startswith("::error")]
        assert errors and not [line for line in errors if f"stories/{STORY}/" in line], errors


def test_a_long_series_is_drawn_thinned(project_copy: Path) -> None:
    """A very long series is drawn from at most 2,000 readings, and the caption says so (a 1,000,000-point one
    ran the chart engine out of memory; see benchmarks/README.md for its figures)."""
    total = 20_000
    _log_series(project_copy, "long_series", [(START_MS + i * 60_000, 0.3 + (i % 97) / 1000) for i in range(total)])
    _story(project_copy, "long-series", ("key: production_mean_score\n", "key: long_series\n"))
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    page = (project_copy / "site" / "long-series.html").read_text()
    assert f"thinned to 2,000 of the {total:,} readings" in page
    assert f"{total:,} readings from" in page  # the alt text still describes every reading
    svg = (project_copy / "site" / "charts" / "long-series-series-long_series.svg").read_text()
    assert 1_000 < svg.count("<path") < 2_100  # a dot per drawn reading: at most 2,000, not 20,000


def test_mlflow_values_are_text_on_the_page_in_the_pdf_and_in_the_terminal(project_copy: Path) -> None:
    """A param or tag holding Markdown, HTML or control characters shows as its text; the author's prose after it
    is all on the page and in the PDF; pin prints it without obeying it."""
    from pypdf import PdfReader

    client, run_id = _client(project_copy)
    note = "[click me](https://attacker.example/x) <style>p {display: none}</style> **loud**"
    client.log_param(run_id, "note", note)  # type: ignore[attr-defined]
    client.set_tag(run_id, "owner", "::error::owned \x1b[31mred\x1b[0m")  # type: ignore[attr-defined]
    directory = _story(project_copy, "mlflow-text")
    section = directory / "ethical-considerations.md"
    section.write_text(section.read_text() + '\nThe run says: {{ param("note") }}, owned by {{ tag("owner") }}. '
                       "SENTINEL-AFTER stays.\n\nSENTINEL-NEXT paragraph stays too.\n")

    result = runner.invoke(app, ["build", str(project_copy), "--pdf", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    site = project_copy / "site"
    assert (site / f"{STORY}.html").is_file() and (site / f"{STORY}.pdf").is_file()
    page = (site / "mlflow-text.html").read_text()
    assert "attacker.example" in page and 'href="https://attacker.example' not in page
    assert "[click me](https://attacker.example/x) &lt;style&gt;p {display: none}&lt;/style&gt; **loud**" in page
    assert "owned by ::error::owned [31mred[0m. SENTINEL-AFTER stays." in page
    assert "SENTINEL-NEXT paragraph stays too." in page and "\x1b" not in page
    text = " ".join(" ".join(page_.extract_text().split()) for page_ in PdfReader(site / "mlflow-text.pdf").pages)
    assert "SENTINEL-AFTER stays." in text and "SENTINEL-NEXT paragraph stays too." in text
    assert "<style>" in text  # shown as text, not applied

    # pin and diff print what changed in MLflow: shown, never obeyed by the terminal or the CI log.
    assert runner.invoke(app, ["pin", str(project_copy), "--story", "mlflow-text"]).exit_code == 0
    before = project_copy / "before" / "snapshot.json"  # with its tables beside it
    shutil.copytree(directory, before.parent)
    client.set_tag(run_id, "owner", "\n::warning::owned\x1b[2J")  # type: ignore[attr-defined]
    outputs = [runner.invoke(app, ["pin", str(project_copy), "--story", "mlflow-text"]),
               runner.invoke(app, ["diff", str(before), str(directory / "snapshot.json")])]
    assert "owned" in outputs[0].output + outputs[1].output
    for shown in outputs:
        assert shown.exit_code == 0, shown.output
        assert "\x1b" not in shown.output
        assert not [line for line in shown.output.splitlines() if line.lstrip().startswith("::")], shown.output


@pytest.mark.parametrize("character", [chr(code) for code in (*range(0x00, 0x20), *range(0x7F, 0xA0))]
                         + ["\u2028", "\u2029", "\u202e", "\u2066", "\ufffe"])
def test_the_chart_engine_draws_any_label(character: str) -> None:
    """Every control character (vl-convert aborted the whole process on ESC, NUL, BEL...) in a group name and
    an axis title is made drawable: the chart draws, without the character."""
    from storybook.render.charts import Chart, _field, _spec, to_svg, use_svg_cache

    group, title = f"North{character}clinic", f"Screening{character}site"
    spec = _spec({"data": {"values": [{"group": group, "value": 0.5}, {"group": "South", "value": float("nan")}]},
                  "mark": {"type": "point"},
                  "encoding": {"x": _field("value", "quantitative"), "y": _field("group", "nominal", title=title)}},
                 200, 60)
    use_svg_cache(None)
    svg = to_svg(Chart("poisoned", spec, "alt", "caption"))
    assert svg.startswith("<svg") and character not in svg
    assert "North" in svg and "Screening" in svg


def test_terminal_text_shows_control_characters_and_no_workflow_command() -> None:
    import json
    import re

    from storybook.review.check import Finding, format_github, format_json
    from storybook.review.safe import for_terminal

    hostile = "ok\x1b]8;;https://attacker.example\x07link\x1b]8;;\x07\r::error::forged\n::set-output name=x::y\u202e"
    shown = for_terminal(hostile)
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown and "\u202e" not in shown
    assert "\\x1b]8;;https://attacker.example\\x07" in shown and "\\u202e" in shown
    assert not [line for line in shown.splitlines() if line.lstrip().startswith("::")]
    document = format_json([Finding("error", "stories/a/x.md", 3, "code", hostile + "\x9b[2J é")])
    assert json.loads(document)["findings"][0]["message"] == hostile + "\x9b[2J é"  # the same text, as JSON
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]", document) and "é" in document
    annotation = format_github([Finding("error", "stories/a/x.md", 3, "code", hostile)])
    assert annotation.count("\n") == 1 and annotation.startswith("::error file=stories/a/x.md,line=3,")
    assert "\x1b" not in annotation and "\x07" not in annotation


def test_alias_records_with_odd_digits_or_impossible_times_are_skipped() -> None:
    """'²' and '١٢' are digits to str.isdigit (and int() refuses '²'); a time past year 9999 is no date: such
    alias-move records are skipped like any other malformed one, and the well-formed one is read."""
    from storybook.resolve.alias_tags import alias_events

    events = alias_events({
        "storybook.alias.champion.1700000000000": "²",
        "storybook.alias.champion.1700000000001": "١٢",
        "storybook.alias.champion.١٧٠٠٠٠٠٠٠٠٠٠٢": "1",
        "storybook.alias.champion.999999999999999": "1",
        "storybook.alias.champion.1700000000003": "2",
    })
    assert [(event.alias, event.version, event.at_ms) for event in events] == [("champion", 2, 1700000000003)]


def test_a_pinned_series_edited_to_nan_fails_its_story_on_the_snapshot(project_copy: Path) -> None:
    """The same check where readings enter from a pinned snapshot (edited by hand in a pull request)."""
    import json

    directory = _story(project_copy, "pinned-nan")
    assert runner.invoke(app, ["pin", str(project_copy), "--story", "pinned-nan"]).exit_code == 0
    snapshot = directory / "snapshot.json"
    document = json.loads(snapshot.read_text())
    point = document["resolved"]["series"]["production_mean_score"]["points"][4]
    point["value"] = "nan"
    snapshot.write_text(json.dumps(document, indent=2))
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf", "--jobs", "1"])
    assert result.exit_code == 1, result.output
    assert "1 built, 1 failed" in result.output and (project_copy / "site" / f"{STORY}.html").is_file()
    assert (f"stories/pinned-nan/snapshot.json: series 'production_mean_score' has a reading (step {point['step']}) "
            "whose value is nan") in result.output
    assert "Traceback" not in result.output


def test_a_story_rendered_alone_after_a_worker_died_gives_the_same_page(project_copy: Path) -> None:
    """The retry after a worker died runs the story in a process of its own (so a story that crashes one fails
    alone): for a good story it writes the same page as rendering in the building process."""
    from storybook.render.pages import page_environment
    from storybook.sources.loader import StorySource, load_project
    from storybook.workers import RenderTask, Workers, render_one

    assert runner.invoke(app, ["pin", str(project_copy)]).exit_code == 0
    project = load_project(project_copy)
    story = project.stories[0]
    assert isinstance(story, StorySource)
    task = RenderTask(story, None, "3 December 2026, 12:00 UTC", None, project.templates_dir)
    here = render_one(task, page_environment(project.templates_dir))
    with Workers(1, svg_cache=None, pdf=False) as workers:
        alone = workers.render_alone(task)
    assert alone is not None and alone.error is None and here.page is not None and alone.page is not None
    assert alone.page.html == here.page.html
