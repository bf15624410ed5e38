"""``build()``: sources → resolve → analyse → render → publish, gathered first and written all at once.

Nothing is written until every story has been tried. A story that fails (also when its PDF does not print)
is reported with its located error and listed on the index as not built; the others are published.

The build is incremental: a story whose page is in the render cache (:mod:`storybook.render.cache`) is not
analysed or rendered again, and one built from its snapshot is not even parsed. The stories left to render
are analysed and rendered in worker processes when there are enough of them (:mod:`storybook.workers`), with
the same functions and so the same bytes as in this process. A PDF is reused from the PDF cache when the HTML
it prints, its charts, the stylesheet and storybook's code are byte for byte the same.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from storybook.errors import (
    ConfigError,
    Location,
    PublishError,
    StorybookError,
    StoryError,
    TrackingError,
    UnexpectedError,
)
from storybook.publish.site import MARKER, SiteWriter
from storybook.render.cache import (
    CHARTS_DIR,
    PAGES_DIR,
    PDFS_DIR,
    CachedStory,
    CacheStats,
    PageCache,
    PdfCache,
    build_fingerprint,
    pdf_key,
    resolved_fingerprint,
    story_key,
)
from storybook.render.charts import use_svg_cache
from storybook.render.pages import RenderedStory, StoryEntry, page_environment, render_index, stylesheet
from storybook.resolve.source import is_pinned, open_source
from storybook.sources.loader import BrokenStory, Project, StorySource, find_stories, load_story
from storybook.workers import PARALLEL_FROM, RenderResult, RenderTask, Workers, default_jobs, render_one, write_pdf

if TYPE_CHECKING:
    from jinja2 import Environment

    from storybook.sources.schema import ProjectConfig

__all__ = ["BuildProgress", "BuildReport", "build"]


@dataclass
class BuildReport:
    out: Path
    built: list[str] = field(default_factory=list)
    failed: dict[str, StorybookError] = field(default_factory=dict)
    pdfs: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)  # analysed and rendered by this build
    cached: list[str] = field(default_factory=list)  # taken whole from the render cache
    pdfs_reused: list[str] = field(default_factory=list)  # copied from the previous site (same page)
    cache: CacheStats | None = None  # None: built with the cache off
    carried: list[str] = field(default_factory=list)  # not asked for (--story): kept from the previous site
    workers: int = 0  # worker processes used (0: everything ran in the building process)

    @property
    def ok(self) -> bool:
        return not self.failed


class BuildProgress(Protocol):
    """What a long build reports as it goes. ``task`` is "resolved", "rendered" or "pdfs"; ``advance`` may be
    called from another thread."""

    def start(self, task: str, total: int) -> None: ...

    def advance(self, task: str) -> None: ...


class _Silent:
    def start(self, task: str, total: int) -> None:
        pass

    def advance(self, task: str) -> None:
        pass


@dataclass
class _Story:
    """One story on its way through the build: its page once it has one, or its error."""

    slug: str
    directory: Path
    source: StorySource | BrokenStory | None = None
    key: str | None = None
    page: RenderedStory | None = None
    words: tuple[str, str, str] | None = None  # title, audience, model: what the index shows
    error: StorybookError | None = None
    task: RenderTask | None = None
    kept: list[str] | None = None  # files carried over from the previous site, unchanged (see _take_kept)


def build(root: Path, *, out: Path | None = None, pdf: bool | None = None, only: list[str] | None = None,
          now: datetime | None = None, on_story: Callable[[str, StorybookError | None], None] | None = None,
          offline: bool = False, backend: str = "site", cache: bool = True, jobs: int | None = None,
          progress: BuildProgress | None = None) -> BuildReport:
    """Build the project at ``root`` into its site folder (or ``out``). Raises only for project-wide errors.

    A story with a pinned snapshot (``stories/<slug>/snapshot.json``) is built from it; the others are
    resolved against MLflow. ``offline`` never touches MLflow: a story without a snapshot fails. ``cache``
    False renders every story and PDF afresh; ``jobs`` caps the worker processes (default: the cores).
    """
    if backend not in ("site", "quarto"):
        raise ConfigError(f"unknown backend {backend!r}", hint="use --backend site or --backend quarto")
    quarto = None
    if backend == "quarto":
        from storybook.publish.quarto import find_quarto, render_quarto

        quarto = find_quarto()
        if quarto is None:
            render_quarto(Path("."), None)  # raises the ConfigError that says how to install Quarto
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, not {jobs}", hint="use --jobs 1 to build in one process")
    root, config, directories = find_stories(root, only)
    out_dir = (out or (root / config.site_dir)).resolve()
    make_pdf = config.pdf if pdf is None else pdf
    built_at = (now or datetime.now(UTC)).strftime("%d %B %Y, %H:%M UTC")
    templates_dir = root / config.templates_dir
    store = PageCache(root / PAGES_DIR if cache else None)
    printed = PdfCache(root / PDFS_DIR if cache else None)
    fingerprint = build_fingerprint(root, templates_dir, pdf=make_pdf) if cache else ""
    svg_cache = root / CHARTS_DIR if cache else None
    shown = progress or _Silent()
    report = BuildReport(out=out_dir, cache=store.stats if cache else None)
    stories = [_Story(directory.name, directory) for directory in directories]
    manifest = _read_manifest(out_dir)
    previous = _manifest_part(manifest, "stories") if cache and quarto is None else {}
    others = [d.name for d in find_stories(root)[2] if d.name not in {s.name for s in directories}] if only else []

    # Sources: a snapshot story whose files match a cached page is done without being parsed.
    shown.start("resolved", len(stories))
    loaded: list[StorySource | BrokenStory] = []
    for story in stories:
        if cache and is_pinned(story.directory):
            story.key = story_key(fingerprint, root, story.directory)
            if _take_kept(story, previous, out_dir, store.stats) or _take_cached(story, store):
                shown.advance("resolved")
                continue
        try:
            story.source = load_story(root, story.directory, config)
        except StorybookError as error:
            story.source = BrokenStory(slug=story.slug, directory=story.directory, error=error)
        except Exception as error:  # one story's surprise never ends the build
            surprise = UnexpectedError.from_exception(error, doing="reading this story",
                                                      location=Location(story.directory / "story.yaml"))
            story.source = BrokenStory(slug=story.slug, directory=story.directory, error=surprise)
        loaded.append(story.source)
    project = Project(root=root, config=config, stories=loaded)

    # Resolve: live stories here (MLflow is only opened if one needs it); snapshot stories where they render.
    sources = open_source(project, offline=offline)
    sources.prefetch(loaded)
    for story in stories:
        source = story.source
        if source is None:
            continue
        if isinstance(source, BrokenStory):
            story.error = source.error
        elif is_pinned(source.directory):
            if cache and story.key is None:
                story.key = story_key(fingerprint, root, source.directory)
            story.task = RenderTask(source, None, built_at, _pdf_name(source, make_pdf), templates_dir)
        else:
            try:
                resolved = sources.resolve(source)
            except (StoryError, TrackingError) as error:
                story.error = error
            except Exception as error:  # one story's surprise never ends the build
                story.error = UnexpectedError.from_exception(error, doing="reading this story's data from MLflow",
                                                             location=Location(source.story_file))
            else:
                if cache:
                    story.key = story_key(fingerprint, root, source.directory, resolved_fingerprint(resolved))
                if not (_take_kept(story, previous, out_dir, store.stats) or _take_cached(story, store)):
                    story.task = RenderTask(source, resolved, built_at, _pdf_name(source, make_pdf),
                                            templates_dir)
        shown.advance("resolved")

    # Analyse and render what the cache did not have: in workers when there are enough stories.
    use_svg_cache(svg_cache)
    env = page_environment(templates_dir)
    tasks = [story for story in stories if story.task is not None]
    jobs = default_jobs() if jobs is None else jobs
    with Workers(jobs, svg_cache=svg_cache, pdf=make_pdf) as workers:
        _render(tasks, env, workers if jobs > 1 and len(tasks) >= PARALLEL_FROM else None, shown)
        report.workers = jobs if workers.started else 0
        for story in tasks:
            if story.page is not None and isinstance(story.source, StorySource):
                config_words = story.source.config
                story.words = (config_words.title, config_words.audience, config_words.model.describe())
                store.put(story.key, CachedStory(story.page, *story.words))

        entries: list[StoryEntry] = []
        for story in stories:
            if story.error is not None:
                _fail(report, entries, story.slug, story.error, on_story,
                      story.source if isinstance(story.source, StorySource) else None)
                continue
            assert (story.page is not None or story.kept is not None) and story.words is not None
            (report.rendered if story.task is not None else report.cached).append(story.slug)
            report.built.append(story.slug)
            entries.append(_built_entry(story.slug, story.words, make_pdf))

        # Publish: gather every file, stage, add PDFs (reused or written in the workers), swap.
        built = [story for story in stories if story.page is not None or story.kept is not None]
        writer = SiteWriter(out_dir, protected=_protected(project))
        files = _keep_previous_pages(writer, out_dir, entries)
        carried = _carry_others(writer, out_dir, manifest, others, entries, files)
        report.carried = [entry.slug for entry in entries if entry.as_of]
        entries.sort(key=lambda entry: entry.slug)  # the stories folder's order, carried stories among them
        css = stylesheet()
        writer.add("assets/style.css", css)
        writer.add("index.html", render_index(env, config.title, config.description, entries, built_at))
        for story in built:
            if story.page is None:
                for name in story.kept or ():
                    writer.keep(name)
                if make_pdf:
                    report.pdfs_reused.append(story.slug)
                continue
            writer.add(f"{story.slug}.html", story.page.html)
            for name, html in story.page.pages.items():  # other audience versions, e.g. the one-page summary
                writer.add(name, html)
            for name, svg in story.page.charts.items():
                writer.add(f"charts/{name}", svg)
        fresh: list[tuple[_Story, str]] = []  # (story, PDF name) still to print
        if make_pdf:
            for story in built:
                page = story.page
                if page is None:
                    continue  # carried over: its PDFs too
                for name, html in page.pdfs.items():
                    reused = printed.get(pdf_key(fingerprint, name, html, page.charts)) if cache else None
                    if reused is None:
                        fresh.append((story, name))
                    else:
                        writer.add(name, reused)
                        if name == f"{story.slug}.pdf":
                            report.pdfs_reused.append(story.slug)
        staging = writer.stage()
        unprinted: dict[str, StorybookError] = {}  # stories whose PDF did not print
        try:
            if make_pdf:
                pool = jobs > 1 and (workers.started or len(fresh) >= PARALLEL_FROM)
                unprinted = _write_pdfs(fresh, staging, workers if pool else None, shown)
                if unprinted:
                    built = _fail_unprinted(unprinted, staging, out_dir, built, entries, files, report)
                    _replace_file(staging / "index.html",
                                  render_index(env, config.title, config.description, entries, built_at))
                for story, name in fresh if cache else ():
                    assert story.page is not None
                    if story.slug not in unprinted:
                        printed.put(pdf_key(fingerprint, name, story.page.pdfs[name], story.page.charts),
                                    (staging / name).read_bytes())
                report.pdfs = [story.slug for story in built]
                report.workers = jobs if workers.started else 0
            if quarto is not None:
                _quarto(staging, project, [(_parsed(root, s, config), s.page) for s in built if s.page is not None],
                        quarto)
            _write_manifest(staging, built, make_pdf, entries, files, carried, built_at)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        for slug in report.built if on_story else ():  # said once its PDFs are printed: a PDF can fail it
            assert on_story is not None
            on_story(slug, None)
        for slug in unprinted if on_story else ():
            assert on_story is not None
            on_story(slug, report.failed[slug])
    writer.publish(staging)
    return report


def _pdf_name(story: StorySource, make_pdf: bool) -> str | None:
    return f"{story.slug}.pdf" if make_pdf else None


def _parsed(root: Path, story: _Story, config: ProjectConfig) -> StorySource:
    """The story's parsed sources (a story taken from the cache by its files alone is parsed only now)."""
    if not isinstance(story.source, StorySource):
        story.source = load_story(root, story.directory, config)
    return story.source


MANIFEST = ".storybook-manifest.json"
_MANIFEST_FORMAT = 1


def _read_manifest(out_dir: Path) -> dict[str, Any]:
    """What the site being replaced says about itself: ``stories`` (each cached story's key, index words, files
    and their stat), ``entries`` (each index line and its files) and ``built_at``; empty when it says nothing."""
    if not (out_dir / MARKER).is_file():
        return {}
    try:
        data = json.loads((out_dir / MANIFEST).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _MANIFEST_FORMAT:
        return {}
    return data


def _manifest_part(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    part = manifest.get(name)
    return part if isinstance(part, dict) else {}


def _carry_others(writer: SiteWriter, out_dir: Path, manifest: dict[str, Any], others: list[str],
                  entries: list[StoryEntry], files: dict[str, list[str]]) -> dict[str, Any]:
    """A partial build (``--story``) keeps the stories it was not asked to build as the previous site has them:
    their pages, summaries, charts and PDFs, and their index line, which says when they were built. A story the
    previous site does not have (or whose files are gone) is listed as not built yet. Returns the carried
    stories' cache records (for the next build's manifest)."""
    previous_entries = _manifest_part(manifest, "entries")
    previous_stories = _manifest_part(manifest, "stories")
    built_at = manifest.get("built_at")
    carried: dict[str, Any] = {}
    for slug in others:
        entry = previous_entries.get(slug)
        entry = entry if isinstance(entry, dict) else {}
        names = entry.get("files")
        fields = [entry.get(key) for key in ("title", "audience", "model", "status", "message", "as_of")]
        words = [word for word in fields if isinstance(word, str)]
        if not (isinstance(names, list) and len(words) == len(fields) and words[3] in ("built", "stale", "failed")
                and all(isinstance(name, str) and (out_dir / name).is_file() and not (out_dir / name).is_symlink()
                        for name in names)):
            entries.append(StoryEntry(slug, slug, "-", "-", "unbuilt",
                                      "not built yet; build without --story to build every story"))
            continue
        for name in names:
            writer.keep(name)
        title, audience, model, status, message, as_of = words
        as_of = as_of or (built_at if isinstance(built_at, str) else "")
        entries.append(StoryEntry(slug, title, audience, model, status, message, entry.get("pdf") is True, as_of))
        files[slug] = list(names)
        if isinstance(previous_stories.get(slug), dict):
            carried[slug] = previous_stories[slug]
    return carried


def _take_kept(story: _Story, previous: dict[str, Any], out_dir: Path, stats: CacheStats) -> bool:
    """Carry the story's files over from the previous site when it was built from the same key and its files
    are as that build left them (size and modification time, as git's index checks): nothing is read."""
    entry = previous.get(story.slug)
    if story.key is None or not isinstance(entry, dict) or entry.get("key") != story.key:
        return False
    files, words = entry.get("files"), entry.get("words")
    if not isinstance(files, dict) or not files or not isinstance(words, list) or len(words) != 3 or \
            not all(isinstance(word, str) for word in words):
        return False
    for name, recorded in files.items():
        try:
            status = os.lstat(out_dir / name)
        except (OSError, ValueError):
            return False
        if not stat.S_ISREG(status.st_mode) or [status.st_size, status.st_mtime_ns] != recorded:
            return False
    story.kept = sorted(files)
    story.words = (words[0], words[1], words[2])
    stats.hits += 1
    stats.site += 1
    return True


def _write_manifest(staging: Path, built: list[_Story], make_pdf: bool, entries: list[StoryEntry],
                    files: dict[str, list[str]], carried: dict[str, Any], built_at: str) -> None:
    """Record in the staged site each cached story's key, index words and files (with their stat), for the next
    build's cache, and each index line with its files, for the next partial build."""
    stories: dict[str, Any] = dict(carried)
    for story in built:
        if story.kept is not None:
            names = story.kept
        else:
            assert story.page is not None
            names = [f"{story.slug}.html", *story.page.pages, *(f"charts/{name}" for name in story.page.charts),
                     *(story.page.pdfs if make_pdf else ())]
        files[story.slug] = names
        if story.key is None or story.words is None:
            continue
        stats = {}
        for name in names:
            status = os.lstat(staging / name)
            stats[name] = [status.st_size, status.st_mtime_ns]
        stories[story.slug] = {"key": story.key, "words": list(story.words), "files": stats}
    lines = {entry.slug: {"title": entry.title, "audience": entry.audience, "model": entry.model,
                          "status": entry.status, "message": entry.message, "pdf": entry.pdf,
                          "as_of": entry.as_of or built_at, "files": files.get(entry.slug, [])}
             for entry in entries if entry.status != "unbuilt"}
    data = json.dumps({"format": _MANIFEST_FORMAT, "stories": stories, "entries": lines, "built_at": built_at},
                      sort_keys=True).encode("utf-8")
    with open(staging / MANIFEST, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _take_cached(story: _Story, store: PageCache) -> bool:
    cached = store.get(story.key)
    if cached is None:
        return False
    story.page = cached.page
    story.words = (cached.title, cached.audience, cached.model)
    return True


def _render(stories: list[_Story], env: Environment, workers: Workers | None, shown: BuildProgress) -> None:
    """Analyse and render each story's task, here or in the workers; results are read in story order. A story
    whose worker died is rendered again in a process of its own (here, if none can start)."""
    shown.start("rendered", len(stories))
    results: list[Future[RenderResult] | RenderResult | None] = []
    for story in stories:
        assert story.task is not None
        if workers is None:
            results.append(render_one(story.task, env))
            shown.advance("rendered")
            continue
        try:
            results.append(workers.render(story.task, lambda: shown.advance("rendered")))
        except BrokenProcessPool:
            results.append(None)
    for story, result in zip(stories, results, strict=True):
        assert story.task is not None
        if isinstance(result, Future):
            try:
                result = result.result()
            except BrokenProcessPool:
                result = None
        if result is None:
            # Its worker died: render it in a process of its own, so a story that crashes one fails alone.
            result = workers.render_alone(story.task) if workers is not None else None
            result = result or render_one(story.task, env)
            shown.advance("rendered")
        story.page, story.error = result.page, result.error


def _write_pdfs(pdfs: list[tuple[_Story, str]], staging: Path, workers: Workers | None,
                shown: BuildProgress) -> dict[str, StorybookError]:
    """Print each PDF into the staged site, here or in the workers (here again if a worker died). Returns the
    stories whose PDF could not be printed, each with its error: a PDF fails its own story, not the build."""
    shown.start("pdfs", len(pdfs))
    failed: dict[str, StorybookError] = {}
    futures: list[Future[str] | None] = []
    for story, name in pdfs:
        assert story.page is not None and story.words is not None
        if workers is None:
            _print_here(story, name, staging, failed)
            shown.advance("pdfs")
            continue
        try:
            futures.append(workers.pdf_file(story.page.pdfs[name], staging, name, story.words[0],
                                            lambda: shown.advance("pdfs")))
        except BrokenProcessPool:
            futures.append(None)
    for (story, name), future in zip(pdfs, futures, strict=False):
        try:
            if future is not None:
                future.result()
                continue
        except BrokenProcessPool:
            pass
        except PublishError as error:
            failed.setdefault(story.slug, _located(error, story))
            continue
        _print_here(story, name, staging, failed)
        shown.advance("pdfs")
    return failed


def _print_here(story: _Story, name: str, staging: Path, failed: dict[str, StorybookError]) -> None:
    assert story.page is not None and story.words is not None
    try:
        write_pdf(story.page.pdfs[name], staging, name, story.words[0])
    except PublishError as error:
        failed.setdefault(story.slug, _located(error, story))


def _located(error: PublishError, story: _Story) -> StorybookError:
    """A PDF that could not be printed, as its story's failure, located at the story's file."""
    if error.location is not None:
        return error
    return PublishError(error.message, location=Location(story.directory / "story.yaml"),
                        hint=error.hint or "the page built but its PDF did not print; look for content the "
                        "story or the project's templates add that a PDF cannot lay out (very deep nesting, "
                        "huge tables), or build with --no-pdf")


def _fail_unprinted(failed: dict[str, StorybookError], staging: Path, out_dir: Path, built: list[_Story],
                    entries: list[StoryEntry], files: dict[str, list[str]], report: BuildReport) -> list[_Story]:
    """Stories whose PDF could not be printed fail alone: their new files leave the staged site, their last
    good page and PDFs come back from the previous site as a failed story's do (marked as not up to date),
    and the index says they failed. Returns the stories still built."""
    still = [story for story in built if story.slug not in failed]
    in_use = {name for story in still if story.page is not None for name in story.page.charts}
    for story in built:
        if story.slug not in failed:
            continue
        page = story.page
        assert page is not None  # a story carried over whole prints no PDF
        for name in [f"{story.slug}.html", *page.pages, *page.pdfs,
                     *(f"charts/{chart}" for chart in page.charts if chart not in in_use)]:
            (staging / name).unlink(missing_ok=True)
        for names in (report.built, report.rendered, report.cached, report.pdfs_reused):
            if story.slug in names:
                names.remove(story.slug)
        report.failed[story.slug] = failed[story.slug]
    for index, entry in enumerate(entries):
        if entry.slug in failed:
            entries[index] = replace(entry, status="failed", message=failed[entry.slug].message.splitlines()[0],
                                     pdf=False)
    restored = SiteWriter(out_dir, protected=[])
    files.update(_keep_previous_pages(restored, out_dir, entries))
    for name, content in restored.files.items():
        target = staging / name
        if not target.exists():  # a chart another story still shows stays as this build drew it
            _replace_file(target, content)
    return still


def _replace_file(target: Path, content: str | bytes) -> None:
    """Write a file of the staged site anew (never through a hard link into the previous site)."""
    target.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as handle:
        handle.write(content.encode("utf-8") if isinstance(content, str) else content)
        handle.flush()
        os.fsync(handle.fileno())


def _built_entry(slug: str, words: tuple[str, str, str], make_pdf: bool) -> StoryEntry:
    title, audience, model = words
    return StoryEntry(slug, title, audience, model, "built", "", make_pdf)


def _keep_previous_pages(writer: SiteWriter, out_dir: Path, entries: list[StoryEntry]) -> dict[str, list[str]]:
    """A story that failed keeps its last good page (with its charts and PDF), marked as not up to date.
    Returns the files kept for each such story."""
    kept_files: dict[str, list[str]] = {}
    if not (out_dir / MARKER).is_file():
        return kept_files
    for index, entry in enumerate(entries):
        page = out_dir / f"{entry.slug}.html"
        if entry.status != "failed" or not page.is_file():
            continue
        html = page.read_text(encoding="utf-8")
        writer.add(f"{entry.slug}.html", html)
        names = [f"{entry.slug}.html"]
        for chart in sorted(set(re.findall(r'src="charts/([A-Za-z0-9_.-]+\.svg)"', html))):
            if (out_dir / "charts" / chart).is_file() and f"charts/{chart}" not in writer.files:
                writer.add(f"charts/{chart}", (out_dir / "charts" / chart).read_bytes())
                names.append(f"charts/{chart}")
        pdf = out_dir / f"{entry.slug}.pdf"
        for kept in (pdf, out_dir / f"{entry.slug}.summary.html", out_dir / f"{entry.slug}.summary.pdf"):
            if kept.is_file():
                writer.add(kept.name, kept.read_bytes())
                names.append(kept.name)
        entries[index] = replace(entry, status="stale", pdf=pdf.is_file())
        kept_files[entry.slug] = names
    return kept_files


def _quarto(staging: Path, project: Project, rendered: list[tuple[StorySource, RenderedStory]],
            quarto: Path) -> None:
    """Generate the Quarto project in the staged site's quarto/ folder and render it there."""
    from storybook.publish.quarto import QuartoPage, pandoc_command, quarto_project, render_quarto

    pages = [QuartoPage(slug=story.slug, title=story.config.title, subtitle=story.config.summary,
                        html_main=page.html.split('<main id="main">', 1)[-1].split("</main>", 1)[0])
             for story, page in rendered]
    charts = {name: svg for _, page in rendered for name, svg in page.charts.items()}
    directory = staging / "quarto"
    for relative, text in quarto_project(pages, charts, project.config.title, pandoc_command(quarto)).items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    render_quarto(directory, quarto)


def _entry(story: StorySource | BrokenStory, status: str, *, message: str = "", pdf: bool = False) -> StoryEntry:
    if isinstance(story, BrokenStory):
        return StoryEntry(story.slug, story.slug, "-", "-", status, message)
    config = story.config
    return StoryEntry(story.slug, config.title, config.audience, config.model.describe(), status, message, pdf)


def _fail(report: BuildReport, entries: list[StoryEntry], slug: str, error: StorybookError,
          on_story: Callable[[str, StorybookError | None], None] | None,
          story: StorySource | None = None) -> None:
    report.failed[slug] = error
    shown = BrokenStory(slug, Path(slug), error) if story is None else story
    entries.append(_entry(shown, "failed", message=error.message.splitlines()[0]))
    if on_story:
        on_story(slug, error)


def _protected(project: Project) -> list[Path]:
    """Folders the site may never replace."""
    protected = [project.root / project.config.stories_dir, project.root / "storybook.yaml"]
    if project.templates_dir.exists():
        protected.append(project.templates_dir)
    return protected
