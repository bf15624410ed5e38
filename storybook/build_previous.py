"""What the site being replaced left behind, and what this build leaves for the next one.

A built site holds a manifest (``.storybook-manifest.json``): each cached story's key, index words and files
(with their size and modification time), and each index line with its files. The next build uses it to carry a
story's files over unchanged when nothing it depends on changed (:meth:`PreviousSite.take`), to keep a failed
story's last good page (:func:`keep_failed_pages`) and, in a partial build (``--story``), to keep
the stories it was not asked to build (:meth:`PreviousSite.carry_others`).
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

from storybook.build_stories import StoryRun
from storybook.publish.site import MARKER, SiteWriter
from storybook.render.cache import CacheStats
from storybook.render.rendered import StoryEntry

__all__ = ["MANIFEST", "PreviousSite", "keep_failed_pages", "write_manifest"]

MANIFEST = ".storybook-manifest.json"
_MANIFEST_FORMAT = 1


class PreviousSite:
    """The site being replaced, as its manifest describes it (empty when it says nothing)."""

    def __init__(self, out_dir: Path, *, reuse: bool, stats: CacheStats) -> None:
        """``reuse`` False: no story's files are carried over whole (the cache is off, or Quarto publishes)."""
        self.out_dir = out_dir
        self.manifest = _read_manifest(out_dir)
        self.stories = _manifest_part(self.manifest, "stories") if reuse else {}
        self.stats = stats

    def take(self, story: StoryRun) -> bool:
        """Carry the story's files over from the previous site when it was built from the same key and its files
        are as that build left them (size and modification time, as git's index checks): nothing is read."""
        entry = self.stories.get(story.slug)
        if story.key is None or not isinstance(entry, dict) or entry.get("key") != story.key:
            return False
        files, words = entry.get("files"), entry.get("words")
        if not isinstance(files, dict) or not files or not isinstance(words, list) or len(words) != 3 or \
                not all(isinstance(word, str) for word in words):
            return False
        for name, recorded in files.items():
            try:
                status = os.lstat(self.out_dir / name)
            except (OSError, ValueError):
                return False
            if not stat.S_ISREG(status.st_mode) or [status.st_size, status.st_mtime_ns] != recorded:
                return False
        story.kept = sorted(files)
        story.words = (words[0], words[1], words[2])
        self.stats.hits += 1
        self.stats.site += 1
        return True

    def carry_others(self, writer: SiteWriter, others: list[str], entries: list[StoryEntry],
                     files: dict[str, list[str]]) -> dict[str, Any]:
        """A partial build (``--story``) keeps the stories it was not asked to build as the previous site has them:
        their pages, summaries, charts and PDFs, and their index line, which says when they were built. A story the
        previous site does not have (or whose files are gone) is listed as not built yet. Returns the carried
        stories' cache records (for the next build's manifest)."""
        out_dir = self.out_dir
        previous_entries = _manifest_part(self.manifest, "entries")
        previous_stories = _manifest_part(self.manifest, "stories")
        built_at = self.manifest.get("built_at")
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


def keep_failed_pages(writer: SiteWriter, out_dir: Path, entries: list[StoryEntry]) -> dict[str, list[str]]:
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


def write_manifest(staging: Path, built: list[StoryRun], make_pdf: bool, entries: list[StoryEntry],
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
