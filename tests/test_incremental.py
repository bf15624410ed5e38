"""Incremental and parallel builds: the render cache (hits, misses, what invalidates it, corrupt entries,
--no-cache), PDFs reused when the page is unchanged, worker processes that write what a serial build writes,
and a build from snapshots that never imports mlflow."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from storybook.build import build
from storybook.cli import app
from storybook.render.cache import PAGES_DIR
from storybook.workers import PARALLEL_FROM
from tests.fresh_process import build_in_fresh_process
from tests.stores import copy_project

STORY = "breast-cancer-screening"
runner = CliRunner()
THREE = ["story-01", "story-03", "story-05"]
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def pinned_many(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained example pinned, its story copied to PARALLEL_FROM stories (story-01 ...). Do not change it."""
    root = tmp_path_factory.mktemp("many") / "project"
    copy_project(trained_project, root)
    result = runner.invoke(app, ["pin", str(root)])
    assert result.exit_code == 0, result.output
    stories = root / "stories"
    for number in range(1, PARALLEL_FROM + 1):
        shutil.copytree(stories / STORY, stories / f"story-{number:02d}")
    shutil.rmtree(stories / STORY)
    return root


@pytest.fixture
def many(pinned_many: Path, tmp_path: Path) -> Path:
    target = tmp_path / "project"
    copy_project(pinned_many, target)
    return target


def _slugs(project: Path) -> list[str]:
    return sorted(p.name for p in (project / "stories").iterdir())


def _files(site: Path) -> dict[str, str]:
    """Every file of a site by its hash; the manifest (file times, for the next build) left out."""
    return {p.relative_to(site).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(site.rglob("*")) if p.is_file() and p.name != ".storybook-manifest.json"}


def _first_difference(a: Path, b: Path) -> str:
    import difflib

    for name in sorted(set(_files(a)) | set(_files(b))):
        left = (a / name).read_text() if (a / name).is_file() else ""
        right = (b / name).read_text() if (b / name).is_file() else ""
        if left != right:
            return name + "\n" + "\n".join(list(difflib.unified_diff(left.splitlines(), right.splitlines(),
                                                                       lineterm=""))[:30])
    return "no difference"


def test_unchanged_stories_come_from_the_cache_and_each_change_renders_what_it_touches(many: Path) -> None:
    slugs = THREE
    first = build(many, pdf=False, now=MONDAY, only=slugs, jobs=1)
    assert first.ok and first.rendered == slugs and first.cached == []
    assert first.cache is not None and first.cache.written == len(slugs)
    site = many / "site"
    pages = {slug: (site / f"{slug}.html").read_bytes() for slug in slugs}

    # Nothing changed: every page comes from the cache, byte for byte, and keeps the time it was made;
    # only the index says when the site was built.
    again = build(many, pdf=False, now=TUESDAY, only=slugs, jobs=1)
    assert again.rendered == [] and again.cached == slugs and again.cache is not None
    assert again.cache.hits == len(slugs) and again.cache.misses == 0
    assert again.cache.site == len(slugs)  # carried over from the previous site: no cache entry even read
    assert {slug: (site / f"{slug}.html").read_bytes() for slug in slugs} == pages
    assert b"23 November 2026, 09:00 UTC" in pages[slugs[0]]
    index = (site / "index.html").read_text()
    assert "built 24 November 2026, 09:00 UTC" in index and all(f'href="{slug}.html"' in index for slug in slugs)

    # One Markdown section edited: only that story is rendered again, and shows the edit.
    section = many / "stories" / "story-03" / "caveats-and-recommendations.md"
    section.write_text(section.read_text() + "\nRe-check the threshold after the winter audit.\n")
    edited = build(many, pdf=False, now=TUESDAY, only=slugs, jobs=1)
    assert edited.rendered == ["story-03"] and edited.cached == ["story-01", "story-05"]
    assert "Re-check the threshold after the winter audit." in (site / "story-03.html").read_text()
    assert (site / "story-01.html").read_bytes() == pages["story-01"]

    # The pinned snapshot changed (a value pinned again): only that story is rendered again, with the new value.
    snapshot = many / "stories" / "story-05" / "snapshot.json"
    document = json.loads(snapshot.read_text())
    document["resolved"]["run"]["params"]["winter_audit"] = "scheduled for December"
    snapshot.write_text(json.dumps(document, sort_keys=True, indent=2) + "\n")
    section = many / "stories" / "story-05" / "model-details.md"
    section.write_text(section.read_text() + '\nAudit: {{ param("winter_audit") }}.\n')
    repinned = build(many, pdf=False, now=TUESDAY, only=slugs, jobs=1)
    assert repinned.rendered == ["story-05"]
    assert "Audit: scheduled for December." in (site / "story-05.html").read_text()

    # A project template changes every page: all are rendered again, with the template.
    templates = many / "templates"
    templates.mkdir()
    shipped = Path(__file__).resolve().parents[1] / "templates" / "_figure.html"
    (templates / "_figure.html").write_text(shipped.read_text().replace('<figure class="chart">',
                                                                        '<figure class="chart local">'))
    restyled = build(many, pdf=False, now=TUESDAY, only=slugs, jobs=1)
    assert restyled.rendered == slugs and restyled.cached == []
    assert all('<figure class="chart local">' in (site / f"{slug}.html").read_text() for slug in slugs)

    # storybook.yaml is part of every key too.
    config = many / "storybook.yaml"
    config.write_text(config.read_text().replace("title: Model stories", "title: Our model stories"))
    assert build(many, pdf=False, now=TUESDAY, only=slugs, jobs=1).rendered == slugs


def test_a_corrupt_cache_entry_is_rebuilt_not_fatal(many: Path) -> None:
    slugs = THREE
    assert build(many, pdf=False, now=MONDAY, only=slugs, jobs=1).ok
    before = _files(many / "site")
    entries = sorted((many / PAGES_DIR).rglob("*.json.z"))
    assert len(entries) == len(slugs)
    entries[0].write_bytes(entries[0].read_bytes()[:100])  # truncated
    entries[1].write_bytes(b"not even zlib")
    shutil.rmtree(many / "site")  # nothing to carry over: every page comes from its cache entry
    report = build(many, pdf=False, now=MONDAY, only=slugs, jobs=1)
    assert report.ok and report.cache is not None
    assert report.cache.broken == 2 and len(report.rendered) == 2 and len(report.cached) == len(slugs) - 2
    assert _files(many / "site") == before  # the same pages, rendered again
    # The rebuilt entries were written again: the next build takes everything from the cache.
    shutil.rmtree(many / "site")
    again = build(many, pdf=False, now=MONDAY, only=slugs, jobs=1)
    assert again.cached == slugs and again.cache is not None and again.cache.hits == len(slugs)


def test_a_page_edited_in_the_site_is_replaced_not_carried_over(many: Path) -> None:
    assert build(many, pdf=False, now=MONDAY, only=THREE, jobs=1).ok
    page = many / "site" / "story-03.html"
    good = page.read_bytes()
    page.write_bytes(good.replace(b"</main>", b"<p>Edited by hand.</p></main>"))
    report = build(many, pdf=False, now=TUESDAY, only=THREE, jobs=1)
    assert report.cached == THREE and report.cache is not None
    assert report.cache.site == 2 and report.rendered == []  # story-03 came from its cache entry instead
    assert page.read_bytes() == good
    manifest = json.loads((many / "site" / ".storybook-manifest.json").read_text())
    assert sorted(manifest["stories"]) == THREE
    assert "story-03.html" in manifest["stories"]["story-03"]["files"]


def test_no_cache_renders_everything_and_leaves_the_cache_alone(many: Path) -> None:
    two = ["build", str(many), "--story", "story-01", "--story", "story-02", "--no-pdf", "--jobs", "1"]
    result = runner.invoke(app, [*two, "--no-cache"])
    assert result.exit_code == 0, result.output
    assert "2 built, 0 failed; site at" in result.output
    assert not (many / PAGES_DIR).exists()
    result = runner.invoke(app, two)
    assert "from the cache" not in result.output and (many / PAGES_DIR).is_dir()
    result = runner.invoke(app, two)
    assert "2 built, 0 failed (2 of 2 stories unchanged, taken from the cache); site at" in result.output
    assert result.output.count("built  story-") == 2  # the per-story lines stay
    result = runner.invoke(app, [*two, "--no-cache"])
    assert "from the cache" not in result.output
    result = runner.invoke(app, ["build", str(many), "--jobs", "0"])
    assert result.exit_code == 2 and "--jobs" in result.output


def test_parallel_build_writes_what_a_serial_build_writes_and_locates_worker_errors(many: Path,
                                                                                      tmp_path: Path) -> None:
    broken = many / "stories" / "story-02" / "metrics.md"
    broken.write_text(broken.read_text() + '\nShouted: {{ metric("test_recall") | shout }}\n')
    serial = build(many, out=tmp_path / "serial", pdf=False, now=MONDAY, jobs=1, cache=False)
    parallel = build(many, out=tmp_path / "parallel", pdf=False, now=MONDAY, jobs=2, cache=False)
    assert serial.workers == 0 and parallel.workers == 2
    assert serial.built == parallel.built and len(parallel.built) == PARALLEL_FROM - 1
    serial_files, parallel_files = _files(tmp_path / "serial"), _files(tmp_path / "parallel")
    assert serial_files == parallel_files, _first_difference(tmp_path / "serial", tmp_path / "parallel")
    assert list(parallel.failed) == list(serial.failed) == ["story-02"]
    assert str(parallel.failed["story-02"]) == str(serial.failed["story-02"])
    assert type(parallel.failed["story-02"]) is type(serial.failed["story-02"])
    assert "stories/story-02/metrics.md:" in str(parallel.failed["story-02"])
    assert "shout" in str(parallel.failed["story-02"])
    # Through the CLI, the worker's error is printed like any other story's.
    result = runner.invoke(app, ["build", str(many), "--no-pdf", "--jobs", "2"])
    assert result.exit_code == 1
    assert "failed story-02" in result.output and "story-02/metrics.md:" in result.output
    assert f"{PARALLEL_FROM - 1} built, 1 failed" in result.output


def test_each_story_goes_to_the_workers_as_soon_as_it_is_resolved(many: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers render the first stories while the others are still read (not after all of them are), and
    the progress shown counts every story rendered once."""
    from storybook.workers import Workers

    events: list[str] = []
    original = Workers.render

    def recording(self: Workers, task: Any, done: Any = None) -> Any:
        events.append(f"render {task.story.slug}")
        return original(self, task, done)

    class Shown:
        def __init__(self) -> None:
            self.totals: dict[str, int] = {}
            self.done: dict[str, int] = {}

        def start(self, task: str, total: int) -> None:
            self.totals[task] = total

        def advance(self, task: str) -> None:
            self.done[task] = self.done.get(task, 0) + 1
            if task == "resolved":
                events.append("resolved")

    monkeypatch.setattr(Workers, "render", recording)
    shown = Shown()
    report = build(many, out=tmp_path / "site", pdf=False, now=MONDAY, jobs=2, cache=False, progress=shown)
    assert report.workers == 2 and len(report.built) == PARALLEL_FROM
    assert events.index("render story-01") < len(events) - 1 - events[::-1].index("resolved")
    assert events.count("resolved") == PARALLEL_FROM
    assert shown.totals["rendered"] == shown.done["rendered"] == PARALLEL_FROM


def test_pdfs_are_reused_while_the_page_is_unchanged(many: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    flushed: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        flushed.append(Path(os.readlink(f"/proc/self/fd/{fd}")).name)
        real_fsync(fd)

    monkeypatch.setattr("storybook.publish.site.os.fsync", recording_fsync)
    one = ["story-01"]
    first = build(many, pdf=True, now=MONDAY, only=one, jobs=1)
    assert first.pdfs == one and first.pdfs_reused == []
    assert "story-01.pdf" in flushed  # printed into the staging folder, and on disk before the swap
    pdf = (many / "site" / "story-01.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    again = build(many, pdf=True, now=TUESDAY, only=one, jobs=1)
    assert again.cached == one
    assert again.pdfs == one and again.pdfs_reused == one
    assert (many / "site" / "story-01.pdf").read_bytes() == pdf
    section = many / "stories" / "story-01" / "ethical-considerations.md"
    section.write_text(section.read_text() + "\nA new sentence for the PDF.\n")
    edited = build(many, pdf=True, now=TUESDAY, only=one, jobs=1)
    assert edited.pdfs == one and edited.pdfs_reused == []
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(many / "site" / "story-01.pdf").pages)
    assert "A new sentence for the PDF." in " ".join(text.split())


def test_a_live_story_is_resolved_every_time_and_rendered_only_when_mlflow_changed(project_copy: Path) -> None:
    from mlflow.tracking import MlflowClient

    assert build(project_copy, pdf=False, jobs=1).rendered == [STORY]
    assert build(project_copy, pdf=False, jobs=1).cached == [STORY]
    uri = f"sqlite:///{project_copy / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    run_id = client.get_model_version_by_alias(STORY, "champion").run_id
    client.set_tag(run_id, "reviewed_by", "the screening board")
    client._tracking_client.store.engine.dispose()
    changed = build(project_copy, pdf=False, jobs=1)
    assert changed.rendered == [STORY] and changed.cached == []


def test_a_build_from_snapshots_imports_neither_mlflow_nor_weasyprint(many: Path) -> None:
    for attempt in ("cold", "cached"):
        assert build_in_fresh_process(many, "--no-pdf", "--jobs", "1") == [], attempt


def test_a_partial_build_keeps_the_other_stories_as_the_previous_site_had_them(many: Path) -> None:
    site = many / "site"
    first = build(many, pdf=True, now=MONDAY, only=THREE, jobs=1)
    assert first.ok and first.carried == []
    index = (site / "index.html").read_text()
    # The stories never built are listed, and say so; none links to a page that does not exist.
    assert index.count("Not built: <span class=\"error\">not built yet") == PARALLEL_FROM - len(THREE)
    assert 'href="story-02.html"' not in index
    kept = {name: (site / name).read_bytes() for name in _files(site)
            if name.startswith(("story-01", "story-05", "charts/story-01", "charts/story-05"))}
    assert {"story-01.html", "story-01.summary.html", "story-01.pdf", "story-01.summary.pdf"} <= set(kept)
    assert any(name.startswith("charts/story-05") for name in kept)

    section = many / "stories" / "story-03" / "caveats-and-recommendations.md"
    section.write_text(section.read_text() + "\nRe-check the threshold after the winter audit.\n")
    result = runner.invoke(app, ["build", str(many), "--story", "story-03", "--pdf", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "1 built, 0 failed, 1 PDFs; 2 other stories kept as the previous site had them" in result.output
    assert "Re-check the threshold after the winter audit." in (site / "story-03.html").read_text()
    # The others' pages, summaries, charts and PDFs are the previous site's, byte for byte ...
    assert {name: (site / name).read_bytes() for name in kept} == kept
    # ... and the index still lists and links them, saying when they were built.
    index = (site / "index.html").read_text()
    for slug in THREE:
        assert f'href="{slug}.html"' in index and f'href="{slug}.pdf"' in index
        assert f'href="{slug}.summary.html"' in index
    assert index.count("Up to date as of 23 November 2026, 09:00 UTC (not rebuilt this time)") == 2
    assert index.count("Not built: <span class=\"error\">not built yet") == PARALLEL_FROM - len(THREE)

    # Carried again by a second partial build, without the cache too: still the Monday pages, still said so.
    again = build(many, pdf=False, now=TUESDAY, only=["story-05"], jobs=1, cache=False)
    assert again.built == ["story-05"] and again.carried == ["story-01", "story-03"]
    assert (site / "story-01.pdf").read_bytes() == kept["story-01.pdf"]
    index = (site / "index.html").read_text()
    assert "Up to date as of 23 November 2026, 09:00 UTC (not rebuilt this time)" in index
    assert 'href="story-03.html"' in index and 'href="story-05.html"' in index

    # A full build makes every line plainly up to date.
    full = build(many, pdf=False, now=TUESDAY, jobs=1)
    assert full.ok and full.carried == [] and len(full.built) == PARALLEL_FROM
    index = (site / "index.html").read_text()
    assert "not rebuilt this time" not in index and "not built yet" not in index
    assert index.count(">Up to date<") == PARALLEL_FROM
