"""Issue 24, second round: a PDF that does not print fails its own story, control characters never reach a
page, and ``--debug`` tracebacks carry no credential.

Each test builds the example story beside a poisoned one: the good story is published, the poisoned one fails
alone (or builds, when its poison is only shown) with a located error.
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from tests.conftest import copy_example_story as _story

STORY = "breast-cancer-screening"
runner = CliRunner()

# A project template that makes WeasyPrint itself raise (its layout recurses once per nested box) for one story.
DEEP = ('{% if slug.startswith("unprintable") %}{% for i in range(4000) %}<div>{% endfor %}deep'
        '{% for i in range(4000) %}</div>{% endfor %}{% endif %}')


def test_a_pdf_that_does_not_print_fails_its_story_alone(project_copy: Path) -> None:
    site = project_copy / "site"
    _story(project_copy, "unprintable-old")
    first = runner.invoke(app, ["build", str(project_copy), "--pdf", "--jobs", "1"])
    assert first.exit_code == 0, first.output
    last_good = {name: (site / name).read_bytes() for name in
                 ("unprintable-old.html", "unprintable-old.pdf", "unprintable-old.summary.pdf")}

    # The summary template now holds 4,000 nested boxes for the unprintable stories: the HTML renders, the PDF
    # raises inside WeasyPrint.
    summary = Path(str(importlib.resources.files("storybook.templates"))) / "summary.html"
    text = summary.read_text()
    assert '<main id="main" class="summary">' in text
    (project_copy / "templates").mkdir(exist_ok=True)
    (project_copy / "templates" / "summary.html").write_text(
        text.replace('<main id="main" class="summary">', '<main id="main" class="summary">' + DEEP))
    _story(project_copy, "unprintable-new")
    result = runner.invoke(app, ["build", str(project_copy), "--pdf", "--jobs", "1"])

    assert result.exit_code == 1, result.output
    assert "1 built, 2 failed, 1 PDFs" in result.output
    for slug in ("unprintable-old", "unprintable-new"):
        assert f"failed {slug}" in result.output
        assert re.search(rf"stories/{slug}/story\.yaml: could not render the PDF of ", result.output), result.output
    assert f"built  {STORY}" in result.output and "built  unprintable" not in result.output
    assert "Traceback" not in result.output
    # The good story is published with both its PDFs.
    assert (site / f"{STORY}.pdf").read_bytes()[:5] == b"%PDF-" and (site / f"{STORY}.summary.pdf").is_file()
    # The story that had a good build keeps it, byte for byte, marked as the last good version.
    for name, content in last_good.items():
        assert (site / name).read_bytes() == content, name
    index = (site / "index.html").read_text()
    assert re.search(r'unprintable-old\.html">[^<]*</a>.*?Showing the last good version', index, re.DOTALL)
    # The story that never built has no page, no PDF and no summary; the index says it was not built.
    assert not any(site.glob("unprintable-new*"))
    assert index.count("Not built") == 1

    # The next build says the same (no stale cache entry publishes the failed story as built).
    again = runner.invoke(app, ["build", str(project_copy), "--pdf", "--jobs", "1"])
    assert again.exit_code == 1 and "1 built, 2 failed" in again.output, again.output
    for name, content in last_good.items():
        assert (site / name).read_bytes() == content, name


PAGE_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def test_control_characters_never_reach_the_page_or_the_pdf(project_copy: Path) -> None:
    """A title, a label and a slice value (from the scored set in MLflow) holding control characters and bidi
    overrides: the story builds, and its pages, the index and its PDF hold none of them."""
    import csv
    import io

    from mlflow import MlflowClient
    from mlflow.entities import Param, RunTag
    from pypdf import PdfReader

    uri = f"sqlite:///{project_copy / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    champion = client.get_model_version_by_alias(STORY, "champion")
    assert champion.run_id is not None and champion.source is not None
    folder = project_copy / "download"
    folder.mkdir()
    every = Path(client.download_artifacts(champion.run_id, "", str(folder)))
    scored = every / "evaluation" / "scored.csv"
    rows = list(csv.DictReader(io.StringIO(scored.read_text())))
    for row in rows:  # the one site no claim names
        if row["site"] == "Mobile unit":
            row["site"] = "Clinic\x1b[31m\x9b2J\u202eMobile unit\x00"
    with scored.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    # The champion's run again (its figures, settings and series) with the poisoned scored set, in an
    # experiment whose artifacts live in this project's copy, registered from the champion's model.
    run = client.get_run(champion.run_id)
    experiment = client.create_experiment("controls", artifact_location=(project_copy / "controls").as_uri())
    run_id = client.create_run(experiment).info.run_id
    metrics = [point for key in run.data.metrics for point in client.get_metric_history(champion.run_id, key)]
    for start in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[start:start + 1000])
    client.log_batch(run_id, params=[Param(key, value) for key, value in run.data.params.items()],
                     tags=[RunTag(key, value) for key, value in run.data.tags.items() if not key.startswith("mlflow.")])
    client.log_artifacts(run_id, str(every))
    client.set_terminated(run_id)
    import mlflow

    mlflow.set_tracking_uri(uri)  # MLflow looks a `models:/m-...` source up in the global store (its own TODO)
    version = client.create_model_version(STORY, champion.source, run_id=run_id)
    client.set_registered_model_alias(STORY, "controls", version.version)
    _story(project_copy, "controls", ("alias: champion", "alias: controls"),
           ("label: Tumour size", 'label: "Tumour \\x1b[31m\\x00size\\u2066"'),
           ("title: Which", 'title: "\\x1b]0;owned\\x07\\u202eWhich'), ("first?", 'first?\\x7f"'))

    result = runner.invoke(app, ["build", str(project_copy), "--pdf", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    site = project_copy / "site"
    assert (site / f"{STORY}.html").is_file() and (site / f"{STORY}.pdf").is_file()
    for name in ("controls.html", "controls.summary.html", "index.html"):
        page = (site / name).read_text()
        assert not PAGE_CONTROLS.findall(page), (name, set(PAGE_CONTROLS.findall(page)))
    page = (site / "controls.html").read_text()
    assert "]0;ownedWhich tumour scans should a specialist see first?" in page  # the text stays, minus controls
    assert "Tumour [31msize" in page
    assert "Clinic[31m2JMobile unit" in page  # the slice value, shown as text
    for name in ("controls.pdf", "controls.summary.pdf"):
        text = "".join(page_.extract_text() for page_ in PdfReader(site / name).pages)
        assert "ownedWhich tumour scans" in text.replace("\n", " ")
        assert not PAGE_CONTROLS.findall(text), (name, set(PAGE_CONTROLS.findall(text)))


def test_debug_tracebacks_carry_no_credential(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the team's credentials in the environment, an unexpected error whose text echoes them (as a client
    library's may: the URI, the token, the Basic header) is shown with --debug without any of them."""
    import base64

    import storybook.render.pages as pages

    password, token, user = "s3cr3t-pa55/word@x", "tok-0123456789abcdef", "alice-team"
    uri = f"http://{user}:{password}@127.0.0.1:5999/mlflow"
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    real = pages.render_story

    def render(env: object, story: object, *args: object, **kwargs: object) -> object:
        if getattr(story, "slug", "") == "surprise":
            raise RuntimeError(f"GET {uri}/api failed; sent Authorization: Bearer {token} and Basic {basic}")
        return real(env, story, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pages, "render_story", render)
    _story(project_copy, "surprise")
    result = runner.invoke(app, ["--debug", "build", str(project_copy), "--no-pdf", "--jobs", "1"])
    assert result.exit_code == 1, result.output
    assert "1 built, 1 failed" in result.output and (project_copy / "site" / f"{STORY}.html").is_file()
    assert "Traceback (most recent call last)" in result.output and "RuntimeError: GET http://" in result.output
    for secret in (password, token, basic, "pa55", base64.b64encode(password.encode()).decode()[:8]):
        assert secret not in result.output, secret
    assert "127.0.0.1:5999" in result.output  # the host stays: the reader can still tell what failed


def test_a_story_that_fails_in_a_worker_fails_alone_and_the_others_match_a_serial_build(
        project_copy: Path, tmp_path: Path) -> None:
    """Nine stories, enough for worker processes, one of them failing in its template (1 // 0 at render): with
    two workers the others are published, byte for byte as a build in one process publishes them."""
    from datetime import UTC, datetime

    from storybook.build import build

    for number in range(1, 8):
        _story(project_copy, f"story-{number}")
    _story(project_copy, "poisoned")
    text = (Path(str(importlib.resources.files("storybook.templates"))) / "story.html").read_text()
    lines = text.splitlines(keepends=True)
    line = 4  # inside {% block body %}
    (project_copy / "templates").mkdir(exist_ok=True)
    (project_copy / "templates" / "story.html").write_text(
        "".join([*lines[:line - 1], "{% if slug == 'poisoned' %}{{ 1 // 0 }}{% endif %}\n", *lines[line - 1:]]))
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    serial = build(project_copy, out=tmp_path / "serial", pdf=False, cache=False, jobs=1, now=now)
    parallel = build(project_copy, out=tmp_path / "parallel", pdf=False, cache=False, jobs=2, now=now)

    assert serial.workers == 0 and parallel.workers == 2
    for report in (serial, parallel):
        assert list(report.failed) == ["poisoned"]
        error = report.failed["poisoned"]
        assert error.location is not None and str(error.location).endswith(f"templates/story.html:{line}")
        assert "ZeroDivisionError" in error.message
        assert sorted(report.built) == sorted([STORY, *(f"story-{n}" for n in range(1, 8))])
    files = sorted(p.relative_to(tmp_path / "serial") for p in (tmp_path / "serial").rglob("*") if p.is_file())
    assert sorted(p.relative_to(tmp_path / "parallel") for p in (tmp_path / "parallel").rglob("*")
                  if p.is_file()) == files
    assert not [name for name in files if name.name.startswith("poisoned")]
    assert len([name for name in files if name.suffix == ".html"]) == 1 + 8 * 2  # index, 8 pages, 8 summaries
    for name in files:
        if name.name != ".storybook-manifest.json":
            assert (tmp_path / "parallel" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes(), name


def test_a_pdf_that_does_not_print_in_a_worker_fails_its_story_alone(project_copy: Path, tmp_path: Path) -> None:
    """The same failure with the PDFs printed in two worker processes: the error comes back from the worker and
    fails only its story, located at its story.yaml."""
    from storybook.build import build

    for number in range(1, 7):
        _story(project_copy, f"story-{number}")
    _story(project_copy, "unprintable")
    summary = Path(str(importlib.resources.files("storybook.templates"))) / "summary.html"
    (project_copy / "templates").mkdir(exist_ok=True)
    (project_copy / "templates" / "summary.html").write_text(summary.read_text().replace(
        '<main id="main" class="summary">', '<main id="main" class="summary">' + DEEP))
    report = build(project_copy, out=tmp_path / "site", pdf=True, cache=False, jobs=2)

    assert report.workers == 2
    assert list(report.failed) == ["unprintable"]
    error = report.failed["unprintable"]
    assert str(error.location).endswith("stories/unprintable/story.yaml")
    assert "could not render the PDF of" in error.message
    good = [STORY, *(f"story-{n}" for n in range(1, 7))]
    assert sorted(report.built) == sorted(good) and sorted(report.pdfs) == sorted(good)
    for slug in good:
        for name in (f"{slug}.pdf", f"{slug}.summary.pdf"):
            assert (tmp_path / "site" / name).read_bytes()[:5] == b"%PDF-", name
    assert not list((tmp_path / "site").glob("unprintable*"))
    assert "Not built" in (tmp_path / "site" / "index.html").read_text()


def test_scrub_known_removes_every_known_credential_and_keeps_prose(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the CLI prints (errors, --debug tracebacks, check's findings) loses the environment's credentials in
    every form, and any user:password in a URI; an author's "basic" or "bearer" words stay."""
    import base64

    from storybook.resolve.tracking import scrub_known

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://bob:hunter2-pw@mlflow.example:443/")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-abcdef123")
    basic = base64.b64encode(b"bob:hunter2-pw").decode()
    text = (f"GET https://bob:hunter2-pw@mlflow.example:443/api Authorization: Basic {basic} token tok-abcdef123 "
            "hunter2-pw; from ftp://eve:other-pass@elsewhere/x. The basic figures hold; bearer bonds are safe.")
    scrubbed = scrub_known(text)
    for secret in ("hunter2-pw", basic, "tok-abcdef123", "other-pass"):
        assert secret not in scrubbed, secret
    assert "The basic figures hold; bearer bonds are safe." in scrubbed
    assert "mlflow.example:443/api" in scrubbed and "elsewhere/x" in scrubbed


def test_the_index_says_where_a_failed_story_is_to_be_fixed(tmp_path: Path) -> None:
    """The index names the file and line of a failed story's error (by the file's name: no folder of the machine
    that built the site)."""
    from storybook.build import build
    from tests.sources.test_loader import STORY_YAML, write_story

    root = tmp_path / "project"
    root.mkdir()
    (root / "storybook.yaml").write_text("title: Test stories\n")
    write_story(root, "screening", STORY_YAML.replace("  alias: champion", "  alais: champion"))
    report = build(root, out=tmp_path / "site", pdf=False, jobs=1)
    assert list(report.failed) == ["screening"]
    index = (tmp_path / "site" / "index.html").read_text()
    assert re.search(r"Not built[^<]*: <span class=\"error\">unknown key &#39;model\.alais&#39;\. Did you mean "
                     r"&#39;alias&#39;\? \(story\.yaml, line 7\)</span>", index), index
    assert str(tmp_path) not in index
