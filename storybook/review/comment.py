"""``storybook review``: the pull-request comment body, in Markdown.

Checks, number changes, prose changes and sign-off status against a base revision, with links to the built
pages. Long parts are folded in ``<details>``. The body stays under GitHub's 65,536-character limit: the
largest parts are cut first and the comment says what was cut. Story text is escaped (no HTML, hidden
comments, links, images or @mentions) and no line starts with ``::``. The body starts with the hidden marker
:data:`REVIEW_MARKER`, by which the pull-request workflow (docs/ci/storybook.yml) finds its one comment again and
updates it on every push; story text cannot forge it, as hidden comments in story text are escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from storybook.errors import ConfigError, StorybookError
from storybook.review.check import CheckReport, Finding, check_project
from storybook.review.diff import ProjectDiff, ProseChange, StoryDiff, diff_revisions
from storybook.review.render_diff import elide, markdown_numbers, markdown_project, markdown_signoffs
from storybook.review.safe import escape_markdown, no_workflow_commands
from storybook.review.signoff import SignoffStatus, role_status, signoff_status
from storybook.sources.loader import BrokenStory, StorySource, load_project

__all__ = ["GITHUB_LIMIT", "MAX_BLOCK", "REVIEW_MARKER", "review_comment"]

REVIEW_MARKER = "<!-- storybook-review -->"

GITHUB_LIMIT = 65_536
BUDGET = 64_000  # headroom under the limit for the note of what was cut
MAX_BLOCK = 20_000
FOLD_ROWS = 8
MAX_FINDINGS = 200


@dataclass
class _Block:
    text: str
    label: str = ""  # non-empty: this block may be cut, and is named so in the note

    @property
    def cuttable(self) -> bool:
        return bool(self.label)


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>"


def _where(finding: Finding) -> str:
    return f"{finding.file}:{finding.line}" if finding.line else finding.file


def _checks(report: CheckReport | None, error: ConfigError | None) -> list[_Block]:
    if error is not None:
        return [_Block(f"**Checks:** the project configuration is wrong: {escape_markdown(str(error))}")]
    assert report is not None
    errors, warnings = len(report.errors), len(report.warnings)
    mark = "✅" if not errors else "❌"
    blocks = [_Block(f"**Checks:** {mark} {errors} errors, {warnings} warnings in {len(report.stories)} "
                     "stories (`storybook check`)")]
    unpinned = [gap for gap in report.needs_online if ": not pinned" in gap]
    if unpinned:
        blocks.append(_Block("⚠️ **Not checked offline** (these need `storybook check --online`):\n\n"
                             + "\n".join(f"- {escape_markdown(gap)}" for gap in unpinned)))
    if report.findings:
        rows = ["| | Where | Check | What |", "| --- | --- | --- | --- |"]
        for f in report.findings[:MAX_FINDINGS]:
            rows.append(f"| {'❌' if f.severity == 'error' else '⚠️'} | {escape_markdown(_where(f))} | "
                        f"{escape_markdown(f.code)} | {escape_markdown(f.message)} |")
        if len(report.findings) > MAX_FINDINGS:
            rows.append(f"\n_…and {len(report.findings) - MAX_FINDINGS} more: run `storybook check`._")
        blocks.append(_Block(_details(f"{errors + warnings} findings", "\n".join(rows)), "the list of findings"))
    return blocks


def _prose_block(prose: ProseChange, limit: int = MAX_BLOCK) -> str:
    head = (f"**{escape_markdown(prose.title)}** (`{prose.section}`, +{prose.added} -{prose.removed} words)\n\n")
    parts: list[str] = []
    size = len(head)
    shown_ops = elide(prose.ops)
    for index, (tag, text) in enumerate(shown_ops):
        escaped = escape_markdown(text)
        piece = f"~~{escaped}~~" if tag == "delete" else f"**{escaped}**" if tag == "insert" else escaped
        if size + len(piece) + 1 > limit:
            room = limit - size - 5
            kept = escaped[: max(escaped.rfind(" ", 0, room), 0)] if room > 0 else ""
            if kept:
                parts.append(f"~~{kept}~~" if tag == "delete" else f"**{kept}**" if tag == "insert" else kept)
            rest = sum(len(t) for _, t in shown_ops[index:]) - len(kept)
            parts.append(f"…\n\n_(cut here: {rest:,} more characters of this section's changes; run "
                         "`storybook diff` to see them all)_")
            break
        parts.append(piece)
        size += len(piece) + 1
    return head + " ".join(parts)


def _story_blocks(story: StoryDiff, site_url: str | None) -> list[_Block]:
    title = f"### {escape_markdown(story.slug)} ({story.status})"
    if site_url and story.status != "removed":
        title += f" · [page]({site_url}/{quote(story.slug)}.html)"
    blocks = [_Block(title)]
    blocks.extend(_Block(f"> {escape_markdown(note)}") for note in story.notes)
    if story.signoffs:
        removed = sum(1 for c in story.signoffs if c.change != "added")
        blocks.append(_Block(f"**Sign-off entries changed**{' (⚠️ entries edited or removed)' if removed else ''}:"
                             f"\n\n{markdown_signoffs(story)}"))
    outcomes = story.of_kind("outcome")
    if outcomes:
        # What the reader is told to conclude: never folded, never cut.
        blocks.append(_Block(f"{len(outcomes)} outcomes changed:\n\n{markdown_numbers(story, ('outcome',))}"))
    rest = [n for n in story.numbers if n.kind != "outcome"]
    if rest:
        table = markdown_numbers(story, ("setting", "figure"))
        beyond = sum(1 for n in rest if n.beyond_uncertainty)
        settings = len(story.of_kind("setting"))
        summary = (f"{len(rest) - settings} numbers changed"
                   + (f", {beyond} by more than their uncertainty" if beyond else "")
                   + (f"; {settings} settings changed in story.yaml" if settings else ""))
        text = _details(summary, table) if len(rest) > FOLD_ROWS else f"{summary}:\n\n{table}"
        blocks.append(_Block(text, f"the number changes of {story.slug}"))
    if story.prose:
        words = sum(p.added + p.removed for p in story.prose)
        body = "\n\n".join(_prose_block(p) for p in story.prose)
        blocks.append(_Block(_details(f"Prose changes: {len(story.prose)} sections, {words} words", body),
                             f"the prose changes of {story.slug}"))
    return blocks


def _signoff_blocks(stories: list[StorySource | BrokenStory]) -> list[_Block]:
    rows = ["| Story | Role | Signed by | When | Status |", "| --- | --- | --- | --- | --- |"]
    for story in stories:
        try:
            statuses = signoff_status(story.directory)
        except StorybookError as error:
            rows.append(f"| {escape_markdown(story.slug)} | | | | ❌ {escape_markdown(error.message)} |")
            continue
        required = (list(story.config.signoffs.required_roles)
                    if isinstance(story, StorySource) and story.config.signoffs else [])
        for status in _latest(statuses):
            state = "✅ current" if status.current else f"⚠️ stale ({escape_markdown(status.stale_because)})"
            rows.append(f"| {escape_markdown(story.slug)} | {escape_markdown(status.role)} | "
                        f"{escape_markdown(status.name)} | {escape_markdown(status.date)} | {state} |")
        for role in role_status(statuses, required):
            if role.signed_by is None:
                rows.append(f"| {escape_markdown(story.slug)} | {escape_markdown(role.role)} | | | "
                            "❌ required, not signed for this content |")
    if len(rows) == 2:
        return [_Block("**Sign-offs:** none yet (`storybook sign STORY --name … --role …`).")]
    return [_Block("**Sign-offs**\n\n" + "\n".join(rows), "the sign-off table")]


def _latest(statuses: list[SignoffStatus]) -> list[SignoffStatus]:
    """The newest sign-off per (name, role): older ones by the same person are history."""
    latest: dict[tuple[str, str], SignoffStatus] = {}
    for status in statuses:
        latest[(status.name, status.role.casefold())] = status
    return list(latest.values())


def _fit(blocks: list[_Block], base: str, budget: int) -> str:
    """Join the blocks; cut the largest cuttable ones until the body fits, and say what was cut."""
    cut: list[str] = []

    def total() -> int:
        return sum(len(b.text) + 2 for b in blocks)

    while total() > budget:
        candidates = [b for b in blocks if b.cuttable]
        if not candidates:
            break
        largest = max(candidates, key=lambda b: len(b.text))
        cut.append(f"{largest.label} ({len(largest.text):,} characters)")
        largest.text = f"_({largest.label} cut to fit; see the note at the end)_"
        largest.label = ""
    body = "\n\n".join(b.text for b in blocks)
    if len(body) > budget:  # even the essentials are too long: cut at a line break
        body = body[: body.rfind("\n", 0, budget)] + "\n"
        cut.append("the end of the comment")
    if cut:
        body += ("\n\n---\n**Cut to stay under GitHub's 65,536-character limit:** " + "; ".join(cut)
                 + f". Run `storybook diff {escape_markdown(base)} HEAD` or `storybook check` to see everything.")
    return body


def review_comment(project: Path, base: str, *, site_url: str | None = None, budget: int = BUDGET) -> str:
    """The comment body comparing ``base`` (a git revision) with the project as it is now."""
    if site_url is not None:
        site_url = site_url.rstrip("/")
        if not re.fullmatch(r"https?://[^\s<>()\[\]`]+", site_url):
            raise ConfigError(f"--site-url {site_url!r} is not an http(s) URL", hint="e.g. https://org.github.io/repo")
    loaded = load_project(project)
    diff: ProjectDiff = diff_revisions(loaded.root, base, None)
    try:
        report: CheckReport | None = check_project(loaded.root)
        config_error = None
    except ConfigError as error:
        report, config_error = None, error
    blocks = [_Block(f"{REVIEW_MARKER}\n## 📖 storybook review\n\nStories compared with `{escape_markdown(base)}`"
                     + (f" · [site]({site_url}/index.html)" if site_url else "") + ".")]
    blocks += _checks(report, config_error)
    changed = diff.changed
    project_changes = markdown_project(diff)
    if project_changes:
        blocks.append(_Block(project_changes))
    blocks.append(_Block(f"**Changes:** {len(changed)} of {len(diff.stories)} stories changed."
                         if changed else "**Changes:** no story changed."
                         + (" The project's settings or templates did: every page may read differently."
                            if project_changes else "")))
    for story in changed:
        blocks += _story_blocks(story, site_url)
    blocks += _signoff_blocks(loaded.stories)
    body = _fit(blocks, base, budget)
    body = no_workflow_commands(body).rstrip("\n") + "\n"
    assert len(body) < GITHUB_LIMIT
    return body
