"""Checks of the story's files and prose: sections, literal numbers, readability, plain language, cost owner."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from storybook.errors import Location, StorybookError
from storybook.resolve.resolved import ResolvedStory
from storybook.review.checks.findings import Collector
from storybook.sources.loader import (
    BrokenStory,
    Project,
    StorySource,
    read_markdown,
)
from storybook.sources.placeholders import placeholder_error, placeholder_lines
from storybook.sources.sections import AUTHORED_SECTIONS, HEADINGS, MARKDOWN_SECTIONS

MIN_WORDS_FOR_GRADE = 30

EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1", re.DOTALL | re.MULTILINE)
_CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
# "97%", "97.5 %", "12 percent"; "0.93", ".93" (a share written as a decimal). Not years, counts or "1.5 hours".
_PERCENT = re.compile(r"(?<![\w.,])\d{1,3}(?:\.\d+)?\s?(?:%|per ?cent\b)", re.IGNORECASE)
_DECIMAL = re.compile(r"(?<![\w.,])0?\.\d+(?!\w|\.\d|%)")


def check_sections(found: Collector, story: StorySource | BrokenStory) -> None:
    directory = story.directory
    known = MARKDOWN_SECTIONS
    placeholders(found, directory)
    for section_id in AUTHORED_SECTIONS:
        path = directory / f"{section_id}.md"
        if not path.is_file() or not path.read_text(encoding="utf-8", errors="replace").strip():
            found.add("error", path, "section-missing",
                      f"the model card needs the section {HEADINGS[section_id]!r}, written by people",
                      f"write {section_id}.md in {directory.name}/ (plain Markdown)")
    for path in sorted(directory.glob("*.md")):
        section_id = path.stem
        if section_id not in known:
            close = difflib.get_close_matches(section_id, known, n=1)
            hint = f"rename it to {close[0]}.md" if close else f"sections are: {', '.join(known)}"
            found.add("warning", path, "section-unknown",
                      f"{path.name} is not a model-card section, so it is never shown", hint)
        elif section_id not in AUTHORED_SECTIONS and not path.read_text(encoding="utf-8",
                                                                          errors="replace").strip():
            found.add("warning", path, "section-empty", f"{path.name} is empty",
                      "write the section, or delete the file (storybook generates this section anyway)")


def placeholders(found: Collector, directory: Path) -> None:
    """Every line of story.yaml and the Markdown sections that still holds a placeholder of ``storybook new``."""
    for path in [directory / "story.yaml", *sorted(directory.glob("*.md"))]:
        if path.is_file():
            for line in placeholder_lines(path.read_text(encoding="utf-8", errors="replace")):
                found.error(placeholder_error(path, line), "placeholder", path)


def _spaces(text: str) -> str:
    """``text`` as spaces, keeping its newlines so line numbers stay right."""
    return re.sub(r"[^\n]", " ", text)


def _blank(match: re.Match[str]) -> str:
    return _spaces(match.group(0))


def prose_only(text: str) -> str:
    """The words a reader sees, roughly: no {{ expressions }}, code or link targets (lines preserved)."""
    text = EXPRESSION.sub(_blank, text)
    text = _FENCE.sub(_blank, text)
    text = _CODE_SPAN.sub(_blank, text)
    return _LINK_TARGET.sub(lambda match: "]" + _spaces(match.group(0)[1:]), text)


def find_literal_numbers(text: str) -> list[tuple[int, str]]:
    """``(line, literal)`` for every number in prose that looks like a metric: "97%", "0.93"."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(prose_only(text).splitlines(), 1):
        for pattern in (_PERCENT, _DECIMAL):
            found.extend((number, match.group(0).strip()) for match in pattern.finditer(line))
    return sorted(found)


def readability_grade(text: str) -> tuple[float, int]:
    """The Flesch-Kincaid grade of the prose (textstat) and its word count."""
    import textstat  # type: ignore[import-untyped]  # no type information shipped

    plain = prose_only(text)
    plain = re.sub(r"^\s{0,3}(?:#{1,6}|[-*+]|\d+[.)]|>)\s+", "", plain, flags=re.MULTILINE)
    plain = re.sub(r"[*_~\[\]]", "", plain)
    words = int(textstat.lexicon_count(plain))
    if words == 0:
        return 0.0, 0
    return float(textstat.flesch_kincaid_grade(plain)), words


def literals_and_readability(found: Collector, project: Project, directory: Path) -> None:
    """Over every section file, also of a story that does not load (its prose can still be read)."""
    target = project.config.readability
    for section_id in MARKDOWN_SECTIONS:
        path = directory / f"{section_id}.md"
        try:
            section = read_markdown(project.root, path)
        except (OSError, StorybookError):
            continue  # missing or unreadable: reported by the section and source checks
        for line, literal in find_literal_numbers(section.text):
            found.add("warning", Location(section.path, line), "literal-number",
                      f"{literal!r} is written as a literal; if it is a figure, it will not follow the model",
                      'write a reference instead, e.g. {{ metric("test_recall") | percent }}')
        if target is None:
            continue
        grade, words = readability_grade(section.text)
        if words >= MIN_WORDS_FOR_GRADE and grade > target.max_grade:
            found.add("warning", Location(section.path, 1), "readability",
                      f"{section.path.name} reads at grade {grade:.1f}; this project aims for "
                      f"{target.max_grade:g} or below",
                      "use shorter sentences and everyday words")


def plain_language(found: Collector, story: StorySource, resolved: ResolvedStory | None) -> None:
    """Jargon outside the glossary, percentages without a denominator, score-like figures without a baseline
    and slice figures without a sample size (storybook/review/plain_lints.py), on each file's line."""
    from storybook.review.plain_lints import story_prose_findings

    for path, finding in story_prose_findings(story, resolved):
        found.add("warning", Location(path, finding.line), finding.code, finding.message, finding.hint)


def cost_owner(found: Collector, story: StorySource) -> None:
    cost = story.config.cost_of_error
    if cost is not None and not cost.owner.strip():
        found.add("error", story.yaml.location(("cost_of_error", "owner")), "cost-owner",
                  "the cost assumptions have no owner", "name who stated these costs and answers for them")
