"""storybook.review.checks.output: findings as GitHub workflow annotations (GitHub's escaping, so story text can
neither end the line nor start a command) and as JSON that reads back to the same findings."""

from __future__ import annotations

import json

from storybook.review.checks.findings import Finding
from storybook.review.checks.output import escape_github_property, format_github, format_json

HOSTILE = "100% sure\r\n::error::pwned \x1b[31mred\u202e"


def test_each_finding_is_one_annotation_line_with_githubs_escapes() -> None:
    findings = [Finding("error", "stories/a,b/story.yaml", 12, "figure-mismatch", HOSTILE),
                Finding("warning", "storybook.yaml", None, "no-snapshot", "pin it")]
    assert format_github(findings) == (
        "::error file=stories/a%2Cb/story.yaml,line=12,title=storybook figure-mismatch::"
        "100%25 sure%0D%0A::error::pwned \\x1b[31mred\\u202e\n"
        "::warning file=storybook.yaml,title=storybook no-snapshot::pin it\n")
    assert len(format_github(findings).splitlines()) == 2  # the story text did not start a line of its own
    assert format_github([]) == ""


def test_a_property_escapes_its_separators_too() -> None:
    assert escape_github_property("C:\\a,b%") == "C%3A\\a%2Cb%25"


def test_json_reads_back_to_the_same_findings_with_no_raw_control_character() -> None:
    finding = Finding("error", "stories/s/story.yaml", 3, "claim", HOSTILE + "\x9b1m")
    text = format_json([finding], online=True, needs_online=["figures of story s"])
    assert json.loads(text) == {"findings": [finding.as_dict()], "online": True,
                                "needs_online": ["figures of story s"]}
    assert not any(ch in text for ch in ("\x1b", "\x9b", "\u202e", "\r"))
    assert "\\u009b" in text and "\\u202e" in text
