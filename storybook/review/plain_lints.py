"""Plain-language lints on an author's Markdown, for ``storybook check``: pure functions, text in, findings out.

Each finding has the line it starts on and a fix. All four are warnings (as the other prose checks in
:mod:`storybook.review.check` are): they ask for a better sentence, they do not stop a build.

    code                        what it flags
    jargon                      a machine-learning word (analyse/glossary.JARGON) the story's glossary does not
                                define: its first use in the file
    percent-without-denominator a percentage (a literal "12%" or a ``| percent`` reference) whose sentence
                                never says out of how many ("of 340", "out of", "in 100", "5/12")
    metric-without-baseline     a sentence that gives a score-like figure (accuracy, ROC AUC, F1, Brier score,
                                log loss, RMSE, R², or a ``metric("key")`` of a score-like kind in the table of
                                kinds) with nothing to compare it with ("than", "compared with", "the previous
                                version", "a coin toss"...)
    slice-without-size          a sentence that gives a figure for a group of a slice (a group value of
                                several words, or one next to a word of the slice's label) without a count
                                of cases; a sentence that names only the slice is about the overall figure

Only what a reader sees is read: code spans, fenced code and link targets are blanked first (lines kept);
``{{ expressions }}`` count as figures only when they are one (``metric(...)``, ``| percent``, ``| number``).
A sentence ends at ``.``, ``!`` or ``?`` before white space, at a blank line, and before a list item or
heading.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from storybook.analyse.glossary import JARGON
from storybook.metrics.kinds import kinds_where
from storybook.resolve.resolved import ResolvedStory
from storybook.sources.loader import StorySource

__all__ = [
    "SCORE_KINDS",
    "ProseFinding",
    "SliceNames",
    "find_bare_percentages",
    "find_jargon",
    "find_metrics_without_baseline",
    "find_slice_claims_without_size",
    "lint_prose",
    "story_prose_findings",
]

# Metric kinds whose number means little on its own: a reader needs something to compare it with.
SCORE_KINDS = frozenset(kinds_where(lambda k: k.score_like))  # from the table of kinds

_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1", re.DOTALL | re.MULTILINE)
_CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_BREAK = re.compile(r"(?<=[.!?])[\"')\]*_]*\s+|\n\s*\n|\n(?=[ \t]*(?:[-*+]|\d+[.)]|#{1,6})\s)")
_PERCENT_LITERAL = re.compile(r"(?<![\w.,])\d{1,3}(?:\.\d+)?\s?(?:%|per ?cent\b)", re.IGNORECASE)
_PERCENT_REFERENCE = re.compile(r"\{\{[^}]*\|\s*percent\b[^}]*\}\}")
_FIGURE_REFERENCE = re.compile(r"\{\{[^}]*(?:\bmetric\s*\(|\|\s*(?:percent|number)\b)[^}]*\}\}")
_COUNT_REFERENCE = re.compile(r"\{\{[^}]*(?:\|\s*count\b|evaluation\.(?:size|positives))[^}]*\}\}")
_NUMBER = r"(?:\d[\d,]*(?![\d,.]*\s?(?:%|per ?cent\b))|\{\{(?![^}]*percent)[^}]*\}\})"
_DENOMINATOR = re.compile(
    rf"\bout of\b|\b(?:of|in|per|among|from)\s+(?:the\s+|all\s+|every\s+|each\s+)?{_NUMBER}|\b\d+\s*/\s*\d+",
    re.IGNORECASE)
_DECIMAL = re.compile(r"(?<![\w.,])\d*\.\d+(?!\w|\.\d)")
_WHOLE = re.compile(r"(?<![\w.,])(?<!in )\d[\d,]*(?![\w.,]*\d)(?!\s?(?:%|per ?cent\b))(?!\s+in\s+\d)",
                    re.IGNORECASE)
_SCORE_WORDS = re.compile(r"\b(?:(?:balanced )?accuracy|roc auc|auc|(?:macro )?f1(?: score)?|brier score|log loss|"
                          r"rmse|r²|r-squared)\b", re.IGNORECASE)
_COMPARISON = re.compile(
    r"\b(?:than|compared?|comparison|versus|vs\.?|against|baseline|previous|earlier|before|last (?:year|month|"
    r"version)|up from|down from|coin toss|by chance|at random|chance alone|perfect|target|goal|at least|at most|"
    r"better|worse|improv\w*|drop\w*|rose|fell|same as|as good as|no clear difference)\b", re.IGNORECASE)
_METRIC_KEY = re.compile(r"\bmetric\s*\(\s*[\"']([^\"']+)[\"']\s*\)")


@dataclass(frozen=True)
class ProseFinding:
    line: int
    code: str
    message: str
    hint: str


@dataclass(frozen=True)
class SliceNames:
    """How prose may name a slice: its label ("Tumour size"), its column and its group values."""

    label: str
    column: str
    values: tuple[str, ...] = ()


def _spaces(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def _visible(text: str) -> str:
    """Code and link targets blanked (line breaks kept); expressions kept."""
    text = _FENCE.sub(_spaces, text)
    text = _CODE_SPAN.sub(_spaces, text)
    return _LINK_TARGET.sub(lambda m: "]" + _spaces(m)[1:], text)


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _sentences(text: str) -> Iterable[tuple[int, str]]:
    """(start offset, sentence) for each sentence of ``text``."""
    start = 0
    for match in _BREAK.finditer(text):
        if text[start:match.start()].strip():
            yield start, text[start:match.start()]
        start = match.end()
    if text[start:].strip():
        yield start, text[start:]


def _words_pattern(spellings: Iterable[str]) -> re.Pattern[str] | None:
    unique = sorted({" ".join(s.lower().split()) for s in spellings if s.strip()}, key=lambda s: (-len(s), s))
    if not unique:
        return None
    body = "|".join(re.escape(s).replace(r"\ ", r"\s+") for s in unique)
    return re.compile(rf"(?<![\w-])({body})(?:es|s)?(?![\w-])", re.IGNORECASE)


def find_jargon(text: str, defined: Iterable[str], jargon: Sequence[str] = JARGON) -> list[ProseFinding]:
    """The first use in ``text`` of each jargon word that is not one of the ``defined`` spellings."""
    known = {" ".join(s.lower().split()) for s in defined}
    pattern = _words_pattern([*jargon, *known])
    if pattern is None:
        return []
    plain = _EXPRESSION.sub(_spaces, _visible(text))
    found: list[ProseFinding] = []
    seen: set[str] = set()
    for match in pattern.finditer(plain):
        word = " ".join(match.group(1).lower().split())
        if word in known or word in seen:
            continue
        seen.add(word)
        found.append(ProseFinding(
            _line(plain, match.start()), "jargon",
            f"{match.group(0)!r} is machine-learning jargon that the story's glossary does not define",
            f"say it in plain words, or define it under glossary: in story.yaml (e.g. {word}: {{plain: ...}})"))
    return found


def find_bare_percentages(text: str) -> list[ProseFinding]:
    """Percentages (literal or ``| percent``) whose sentence does not say out of how many."""
    visible = _visible(text)
    found: list[ProseFinding] = []
    for start, sentence in _sentences(visible):
        percents = [*_PERCENT_LITERAL.finditer(_EXPRESSION.sub(_spaces, sentence)),
                    *_PERCENT_REFERENCE.finditer(sentence)]
        if not percents or _DENOMINATOR.search(sentence):
            continue
        for match in sorted(percents, key=lambda m: m.start()):
            shown = " ".join(match.group(0).split())
            found.append(ProseFinding(
                _line(visible, start + match.start()), "percent-without-denominator",
                f"{shown!r} does not say out of how many",
                "say what it counts and out of how many, e.g. '12% (41 of 340 patients)' or "
                "'of the {{ evaluation.size | count }} patients ...'"))
    return found


def find_metrics_without_baseline(text: str, metric_kinds: Mapping[str, str] | None = None) -> list[ProseFinding]:
    """Sentences that give a score-like figure with nothing to compare it with (see the module docstring)."""
    kinds = metric_kinds or {}
    visible = _visible(text)
    found: list[ProseFinding] = []
    for start, sentence in _sentences(visible):
        words = _EXPRESSION.sub(_spaces, sentence)
        keys = [m for m in _METRIC_KEY.finditer(sentence) if kinds.get(m.group(1)) in SCORE_KINDS]
        named = _SCORE_WORDS.search(words)
        has_figure = bool(_FIGURE_REFERENCE.search(sentence) or _PERCENT_LITERAL.search(words)
                          or _DECIMAL.search(words))
        if not keys and not (named and has_figure):
            continue
        if _COMPARISON.search(words):
            continue
        where = keys[0].start() if keys else named.start() if named else 0
        what = keys[0].group(1) if keys else named.group(0) if named else "figure"
        found.append(ProseFinding(
            _line(visible, start + where), "metric-without-baseline",
            f"the {what} is given with nothing to compare it with",
            "compare it with something the reader knows: the previous version, a simple rule, or chance "
            "(0.5 for ROC AUC)"))
    return found


def _mentions(sentence: str, names: SliceNames) -> str | None:
    """The group of the slice that ``sentence`` names, if any. Naming only the slice ("by tumour size, the
    recall is 0.9") is a sentence about the overall figure, not about a group. A value of several words counts
    where it is written; a one-word value next to a word of the slice's label ("small tumours", "round A");
    a number only right after such a word ("age band 3"), since "9 in 10 patients" is a figure, not a group."""
    lowered = sentence.lower()
    tokens = [m.group(0) for m in re.finditer(r"[\w'-]+", sentence)]
    stems = [w.lower() for w in re.findall(r"\w+", names.label) if len(w) >= 4]

    def labelled(token: str) -> bool:
        return any(token.lower().startswith(stem) for stem in stems)

    for value in names.values:
        if " " in value.strip():
            if re.search(rf"(?<![\w-]){re.escape(value.lower())}(?![\w-])", lowered):
                return value
            continue
        for index, token in enumerate(tokens):
            same = token == value if len(value) < 2 else token.lower() == value.lower()
            if not same:
                continue
            if re.fullmatch(r"[\d.,]+", value):
                if index > 0 and labelled(tokens[index - 1]):
                    return value
                continue
            if any(labelled(t) for t in tokens[max(0, index - 3):index] + tokens[index + 1:index + 4]):
                return value
    return None


def find_slice_claims_without_size(text: str, slices: Sequence[SliceNames]) -> list[ProseFinding]:
    """Sentences that give a figure for a group of a slice without the number of cases behind it."""
    visible = _visible(text)
    found: list[ProseFinding] = []
    for start, sentence in _sentences(visible):
        words = _EXPRESSION.sub(_spaces, sentence)
        has_figure = bool(_FIGURE_REFERENCE.search(sentence) or _PERCENT_LITERAL.search(words)
                          or _DECIMAL.search(words) or re.search(r"\b\d+\s+in\s+\d+\b", words))
        if not has_figure:
            continue
        named = next((m for m in (_mentions(words, s) for s in slices) if m is not None), None)
        if named is None or _COUNT_REFERENCE.search(sentence):
            continue
        if _WHOLE.search(re.sub(rf"(?<![\w-]){re.escape(named)}(?![\w-])", " ", words)):
            continue  # a count of cases (a group named by a number, "age band 3", is not one)
        found.append(ProseFinding(
            _line(visible, start + len(sentence) - len(sentence.lstrip())), "slice-without-size",
            f"a figure for a group ({named}) without the number of cases it rests on",
            "add the group's size, e.g. '(12 patients)': small groups give wide ranges"))
    return found


def lint_prose(text: str, *, defined: Iterable[str], metric_kinds: Mapping[str, str] | None = None,
               slices: Sequence[SliceNames] = ()) -> list[ProseFinding]:
    """All four lints on one Markdown file, sorted by line."""
    findings = [*find_jargon(text, defined), *find_bare_percentages(text),
                *find_metrics_without_baseline(text, metric_kinds), *find_slice_claims_without_size(text, slices)]
    return sorted(findings, key=lambda f: (f.line, f.code))


def story_prose_findings(story: StorySource, resolved: ResolvedStory | None) -> list[tuple[Path, ProseFinding]]:
    """The four lints over every Markdown section of a story, with the story's glossary, metric kinds and
    slices (group values from the resolved evaluation set, when there is one)."""
    from storybook.analyse.glossary import story_glossary
    from storybook.analyse.model_card import vocabulary

    config = story.config
    terms = story_glossary(config, story.project, vocabulary(story))
    defined = [spelling for term in terms for spelling in term.spellings]
    kinds = {metric.key: metric.kind for metric in config.metrics}
    frame = None if resolved is None else resolved.evaluation if resolved.evaluation is not None \
        else resolved.aggregate  # a story told from counts: its cells hold the slices' values
    slices = []
    for spec in config.slices:
        values: tuple[str, ...] = ()
        if frame is not None and spec.column in frame.columns:
            values = tuple(sorted({str(v) for v in frame[spec.column].dropna().unique()}))
        slices.append(SliceNames(spec.label, spec.column, values))
    found = []
    for section in story.sections.values():
        for finding in lint_prose(section.text, defined=defined, metric_kinds=kinds, slices=slices):
            found.append((section.path, finding))
    return found
