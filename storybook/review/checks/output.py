"""How findings are written out: GitHub workflow annotations and JSON, with story text made harmless."""

from __future__ import annotations

import json
import re

from storybook.review.checks.findings import Finding
from storybook.review.safe import visible_controls


def escape_github_data(text: str) -> str:
    """A workflow command's message: % CR LF escaped (GitHub's rules), so story text cannot end the line, and
    every other control character written out (an escape sequence is shown in the log, not obeyed)."""
    return visible_controls(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_github_property(text: str) -> str:
    """A workflow command's property value (file, title): also ':' and ','."""
    return escape_github_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(findings: list[Finding]) -> str:
    """One ``::error file=…,line=…,title=…::message`` annotation per finding."""
    lines = []
    for f in findings:
        properties = f"file={escape_github_property(f.file)}"
        if f.line:
            properties += f",line={int(f.line)}"
        properties += f",title={escape_github_property('storybook ' + f.code)}"
        lines.append(f"::{f.severity} {properties}::{escape_github_data(f.message)}")
    return "\n".join(lines) + ("\n" if lines else "")


def format_json(findings: list[Finding], *, online: bool = False, needs_online: list[str] | None = None) -> str:
    """``{"findings": [...], "online": bool, "needs_online": [...]}``: ``needs_online`` lists what this run did
    not check because it needs MLflow (empty with --online)."""
    document = {"findings": [f.as_dict() for f in findings], "online": online, "needs_online": needs_online or []}
    text = json.dumps(document, indent=2, ensure_ascii=False)  # C0 controls are escaped by JSON itself
    # C1 controls (\x9b starts an escape sequence in some terminals) and bidi overrides too: \uXXXX, still JSON.
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n"


_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
