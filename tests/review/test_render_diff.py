"""A story diff told for the terminal and as Markdown (review/render_diff.py), on hand-made diffs: long equal runs
cut to a few words of context, sign-off lines, number tables that mark a change beyond its uncertainty, and
Markdown escaped so that words from story files cannot become formatting."""

from __future__ import annotations

from storybook.review.diff import ProjectDiff, ProseChange, SignoffChange, StoryDiff, word_diff
from storybook.review.outcomes import NumberChange
from storybook.review.render_diff import (
    TEMPLATES_WARNING,
    elide,
    format_text,
    markdown_numbers,
    markdown_project,
    markdown_signoffs,
    markdown_words,
    signoff_line,
)
from storybook.review.safe import escape_markdown

LONG = " ".join(f"w{i}" for i in range(30))


def test_long_equal_runs_keep_eight_words_of_context_each_side_of_a_change() -> None:
    ops = word_diff(f"{LONG} old {LONG}", f"{LONG} new {LONG}")
    shown = elide(ops)
    assert shown[0] == ("gap", "…") and shown[1] == ("equal", "w22 w23 w24 w25 w26 w27 w28 w29")
    assert shown[2:4] == [("delete", "old"), ("insert", "new")]
    assert shown[4] == ("equal", "w0 w1 w2 w3 w4 w5 w6 w7") and shown[5] == ("gap", "…")
    assert elide(word_diff("a b c", "a x c")) == [("equal", "a"), ("delete", "b"), ("insert", "x"), ("equal", "c")]


def test_a_sign_off_line_says_what_happened_to_whom_and_when() -> None:
    removed = SignoffChange("removed", "Dr. Okafor", "clinical lead", "2026-09-01T10:00:00Z", decision="no-go")
    assert signoff_line(removed) == ("REMOVED: Dr. Okafor (clinical lead), signed 2026-09-01T10:00:00Z, decision "
                                     "no-go")
    edited = SignoffChange("edited", "Ada", "owner", "2026-09-02", detail="note changed")
    assert signoff_line(edited) == "EDITED: Ada (owner), signed 2026-09-02 (note changed)"
    story = StoryDiff("s", "changed", signoffs=[removed, SignoffChange("added", "Bo", "owner", "2026-09-03")])
    assert markdown_signoffs(story).splitlines() == [f"- **{escape_markdown(signoff_line(removed))}**",
                                                     f"- {escape_markdown('ADDED: Bo (owner), signed 2026-09-03')}"]


def test_the_numbers_table_marks_a_change_beyond_its_uncertainty_and_escapes_the_cells() -> None:
    story = StoryDiff("s", "changed", numbers=[
        NumberChange("Recall (test_recall)", "0.9", "0.7", True, "(95%: 0.85 to 0.95) → (95%: 0.6 to 0.8)"),
        NumberChange("metric *odd*|key", None, "1", None),
        NumberChange("param C", "0.5", "1.0", kind="setting")])
    e = escape_markdown
    assert markdown_numbers(story, ("figure",)).splitlines() == [
        "| What | Before | After | Change vs. uncertainty |", "| --- | --: | --: | --- |",
        f"| {e('Recall (test_recall)')} | {e('0.9')} | {e('0.7')} | **larger than its uncertainty** "
        f"{e('(95%: 0.85 to 0.95) → (95%: 0.6 to 0.8)')} |",
        f"| {e('metric *odd*|key')} | — | 1 |  |"]
    assert "\\*odd\\*\\|key" in e("metric *odd*|key")   # no emphasis, no extra cell
    assert markdown_numbers(StoryDiff("s", "changed"), ("figure",)) == ""


def test_prose_changes_are_struck_and_bolded_in_markdown_and_bracketed_in_text() -> None:
    prose = ProseChange("caveats-and-recommendations.md", "Caveats and recommendations",
                        word_diff("Read the *figures* with care.", "Read the figures with their ranges."))
    assert markdown_words(prose) == "Read the ~~\\*figures\\*~~ **figures** with ~~care.~~ **their ranges.**"
    text = format_text(ProjectDiff("main", "the work tree", stories=[StoryDiff("s", "changed", prose=[prose])]))
    assert text.splitlines() == [
        "storybook diff main → the work tree", "", "s (changed)",
        "  prose: caveats-and-recommendations.md (+3 -2 words)",
        "    Read the [-*figures*-] {+figures+} with [-care.-] {+their ranges.+}"]


def test_project_changes_warn_about_templates_and_list_settings() -> None:
    diff = ProjectDiff("main", "HEAD", settings=[NumberChange("pdf", "false", "true")], templates=["page.html"])
    assert markdown_project(diff) == (f"⚠️ **{escape_markdown(TEMPLATES_WARNING)}:** page.html\n\n"
                                      "**storybook.yaml changed** (it reaches every page):\n\n- pdf: false → true")
    assert markdown_project(ProjectDiff("main", "HEAD")) == ""
    assert format_text(ProjectDiff("main", "HEAD")).splitlines() == ["storybook diff main → HEAD", "no story changed"]
