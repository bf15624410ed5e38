"""Characters that change how text is shown instead of being shown: one definition for every output.

Story files and MLflow content are untrusted. Control characters (C0 but tab, newline and carriage return; DEL;
C1) and the bidi marks, embeddings, overrides and isolates (which reorder the text around them) never reach a
page, a chart, a PR comment or a terminal as they are: each output removes them (pages, charts, comments) or
writes them out as escapes (the terminal) with the patterns below. A leaf: no imports from storybook.
"""

from __future__ import annotations

import re

__all__ = ["BREAKS", "CONTROLS", "TERMINAL_CONTROLS", "UNDRAWABLE"]

_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
_C0_C1 = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # tab (\x09), newline (\x0a) and carriage return (\x0d) kept

CONTROLS = re.compile(f"[{_C0_C1}{_BIDI}]")
"""Removed from every text a reader sees; tab, newline and carriage return stay."""
TERMINAL_CONTROLS = re.compile(f"[{_C0_C1}\r{_BIDI}]")
"""Written out as escapes in the terminal: a carriage return there overwrites the line, so it is one too."""
BREAKS = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]+")
"""Line breaks and tabs, for outputs of one line (a chart label, a value inside Markdown)."""
UNDRAWABLE = re.compile(f"[{_C0_C1}\t\n\r{_BIDI}\ufffe\uffff\ud800-\udfff]")
"""What the chart engine cannot draw (a control character in a label made it abort): controls, breaks left
after BREAKS, non-characters and lone surrogates."""
