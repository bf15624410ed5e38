"""A :class:`ProjectDiff` for the terminal, as Markdown and as a self-contained HTML page.

Story text is untrusted everywhere: escaped for Markdown (no HTML, links, images, mentions or workflow
commands) and for HTML.
"""

from __future__ import annotations

from collections.abc import Callable

from storybook.review.diff import NumberChange, ProjectDiff, ProseChange, SignoffChange, StoryDiff, WordOp
from storybook.review.safe import escape_html, escape_markdown, no_workflow_commands

__all__ = ["CONTEXT_WORDS", "KIND_TITLES", "TEMPLATES_WARNING", "elide", "format_html", "format_markdown",
           "format_text", "markdown_numbers", "markdown_project", "markdown_prose", "markdown_signoffs",
           "signoff_line"]

CONTEXT_WORDS = 8
# The order a reader needs them in: what was concluded, what was assumed, what was measured.
KIND_TITLES = {"outcome": "outcomes", "setting": "settings", "figure": "numbers"}
TEMPLATES_WARNING = "the project's templates changed: these run on every page"


def elide(ops: tuple[WordOp, ...]) -> list[WordOp | tuple[str, str]]:
    """Equal runs cut to a few words of context on each side of a change."""
    shown: list[WordOp | tuple[str, str]] = []
    for index, (tag, text) in enumerate(ops):
        if tag != "equal":
            shown.append((tag, text))
            continue
        words = text.split()
        first, last = index == 0, index == len(ops) - 1
        keep_head = 0 if first else CONTEXT_WORDS
        keep_tail = 0 if last else CONTEXT_WORDS
        if len(words) <= keep_head + keep_tail + 1:
            shown.append(("equal", text))
            continue
        if keep_head:
            shown.append(("equal", " ".join(words[:keep_head])))
        shown.append(("gap", "…"))
        if keep_tail:
            shown.append(("equal", " ".join(words[-keep_tail:])))
    return shown


def _beyond(change: NumberChange) -> str:
    if change.beyond_uncertainty is None:
        return ""
    return "larger than its uncertainty" if change.beyond_uncertainty else "within its uncertainty"


def _value(value: str | None) -> str:
    return "—" if value is None else value


def signoff_line(change: SignoffChange) -> str:
    """e.g. 'REMOVED: Dr. Okafor (clinical lead), signed 2026-09-01T10:00:00Z, decision no-go'."""
    decision = f", decision {change.decision}" if change.decision else ""
    detail = f" ({change.detail})" if change.detail else ""
    return f"{change.change.upper()}: {change.name} ({change.role}), signed {change.date}{decision}{detail}"


def _project_lines(diff: ProjectDiff) -> list[str]:
    lines = []
    if diff.templates:
        lines.append(f"{TEMPLATES_WARNING}: {', '.join(diff.templates)}")
    lines.extend(f"{c.what}: {_value(c.old)} → {_value(c.new)}  [{c.note}]" for c in diff.settings)
    return lines


# -- text ---------------------------------------------------------------------------------------------------


def format_text(diff: ProjectDiff) -> str:
    lines = [f"storybook diff {diff.old_label} → {diff.new_label}"]
    if diff.project_changed:
        lines += ["", "project (storybook.yaml and templates reach every page):"]
        lines += [f"  {line}" for line in _project_lines(diff)]
    if not diff.changed:
        lines.append("no story changed" if not diff.project_changed else "no story's own files changed")
    for story in diff.changed:
        lines.append("")
        lines.append(f"{story.slug} ({story.status})")
        for note in story.notes:
            lines.append(f"  note: {note}")
        for kind, title in KIND_TITLES.items():
            changes = story.of_kind(kind)
            if not changes:
                continue
            lines.append(f"  {title}:")
            for change in changes:
                extra = ", ".join(part for part in (_beyond(change), change.note) if part)
                lines.append(f"    {change.what}: {_value(change.old)} → {_value(change.new)}"
                             + (f"  [{extra}]" if extra else ""))
        if story.signoffs:
            lines.append("  sign-offs:")
            lines.extend(f"    {signoff_line(change)}" for change in story.signoffs)
        for prose in story.prose:
            lines.append(f"  prose: {prose.section} (+{prose.added} -{prose.removed} words)")
            words = []
            for tag, text in elide(prose.ops):
                words.append(f"[-{text}-]" if tag == "delete" else f"{{+{text}+}}" if tag == "insert" else text)
            lines.append("    " + " ".join(words))
    return no_workflow_commands("\n".join(lines)) + "\n"


# -- markdown -----------------------------------------------------------------------------------------------


def markdown_numbers(story: StoryDiff, kinds: tuple[str, ...] = ("outcome", "setting", "figure")) -> str:
    changes = [n for n in story.numbers if n.kind in kinds]
    if not changes:
        return ""
    rows = ["| What | Before | After | Change vs. uncertainty |", "| --- | --: | --: | --- |"]
    for change in changes:
        judged = _beyond(change)
        if judged and change.beyond_uncertainty:
            judged = f"**{judged}**"
        detail = f"{judged} {escape_markdown(change.note)}".strip() if change.note else judged
        rows.append(f"| {escape_markdown(change.what)} | {escape_markdown(_value(change.old))} | "
                    f"{escape_markdown(_value(change.new))} | {detail} |")
    return "\n".join(rows)


def markdown_signoffs(story: StoryDiff) -> str:
    """Sign-off entries added, edited or removed, one bullet each (a removed one in bold)."""
    lines = []
    for change in story.signoffs:
        line = escape_markdown(signoff_line(change))
        lines.append(f"- **{line}**" if change.change != "added" else f"- {line}")
    return "\n".join(lines)


def markdown_project(diff: ProjectDiff) -> str:
    """storybook.yaml keys and template files that changed; empty when none did."""
    if not diff.project_changed:
        return ""
    out = []
    if diff.templates:
        out.append(f"⚠️ **{escape_markdown(TEMPLATES_WARNING)}:** "
                   + ", ".join(escape_markdown(name) for name in diff.templates))
    if diff.settings:
        out.append("**storybook.yaml changed** (it reaches every page):\n\n"
                   + "\n".join(f"- {escape_markdown(c.what)}: {escape_markdown(_value(c.old))} → "
                                f"{escape_markdown(_value(c.new))}" for c in diff.settings))
    return "\n\n".join(out)


def markdown_words(prose: ProseChange) -> str:
    parts = []
    for tag, text in elide(prose.ops):
        escaped = escape_markdown(text)
        if tag == "delete":
            parts.append(f"~~{escaped}~~")
        elif tag == "insert":
            parts.append(f"**{escaped}**")
        else:
            parts.append(escaped)
    return " ".join(parts)


def markdown_prose(prose: ProseChange) -> str:
    return (f"**{escape_markdown(prose.title)}** (`{prose.section}`, +{prose.added} -{prose.removed} words)"
            f"\n\n{markdown_words(prose)}")


def format_markdown(diff: ProjectDiff, *, heading: str = "##") -> str:
    out = [f"{heading} Story changes: {escape_markdown(diff.old_label)} → {escape_markdown(diff.new_label)}", ""]
    project = markdown_project(diff)
    if project:
        out += [project, ""]
    if not diff.changed:
        out.append("No story changed." if not diff.project_changed else "No story's own files changed.")
    for story in diff.changed:
        out.append(f"{heading}# {escape_markdown(story.slug)} ({story.status})")
        out.append("")
        out.extend(f"> {escape_markdown(note)}\n" for note in story.notes)
        numbers = markdown_numbers(story)
        if numbers:
            out += [numbers, ""]
        if story.signoffs:
            out += ["Sign-offs:", "", markdown_signoffs(story), ""]
        for prose in story.prose:
            out += [markdown_prose(prose), ""]
    return no_workflow_commands("\n".join(out)) + "\n"


# -- html ---------------------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.5}
table{border-collapse:collapse;margin:1rem 0}th,td{border-bottom:1px solid #ccc;padding:.3rem .6rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}del{background:#fde2e1;color:#8a1c1c}
ins{background:#dcf5e3;color:#135a2a;text-decoration:none}.gap{color:#777}.beyond{font-weight:bold}
.note{color:#555;font-style:italic}
"""


def _html_words(prose: ProseChange) -> str:
    tags: dict[str, Callable[[str], str]] = {
        "delete": lambda t: f"<del>{t}</del>", "insert": lambda t: f"<ins>{t}</ins>",
        "gap": lambda t: f'<span class="gap">{t}</span>', "equal": lambda t: t,
    }
    return " ".join(tags[tag](escape_html(text)) for tag, text in elide(prose.ops))


def format_html(diff: ProjectDiff, *, title: str = "What changed in the stories") -> str:
    body = [f"<h1>{escape_html(title)}</h1>",
            f"<p>From <code>{escape_html(diff.old_label)}</code> to <code>{escape_html(diff.new_label)}</code>.</p>"]
    if diff.templates:
        body.append(f"<p><strong>{escape_html(TEMPLATES_WARNING)}:</strong> "
                    + ", ".join(f"<code>{escape_html(name)}</code>" for name in diff.templates) + "</p>")
    if diff.settings:
        body.append("<p><strong>storybook.yaml changed</strong> (it reaches every page):</p><ul>"
                    + "".join(f"<li>{escape_html(c.what)}: {escape_html(_value(c.old))} → "
                              f"{escape_html(_value(c.new))}</li>" for c in diff.settings) + "</ul>")
    if not diff.changed:
        body.append("<p>No story changed.</p>" if not diff.project_changed else "<p>No story's own files changed.</p>")
    for story in diff.changed:
        body.append(f"<section><h2>{escape_html(story.slug)} <small>({story.status})</small></h2>")
        body.extend(f'<p class="note">{escape_html(note)}</p>' for note in story.notes)
        if story.signoffs:
            body.append("<p>Sign-offs:</p><ul>" + "".join(f"<li>{escape_html(signoff_line(c))}</li>"
                                                          for c in story.signoffs) + "</ul>")
        if story.numbers:
            body.append("<table><thead><tr><th>What</th><th>Before</th><th>After</th>"
                        "<th>Change vs. uncertainty</th></tr></thead><tbody>")
            for change in story.numbers:
                judged = escape_html(_beyond(change))
                css = ' class="beyond"' if change.beyond_uncertainty else ""
                body.append(f"<tr><td>{escape_html(change.what)}</td>"
                            f"<td class=\"num\">{escape_html(_value(change.old))}</td>"
                            f"<td class=\"num\">{escape_html(_value(change.new))}</td><td{css}>{judged} "
                            f"{escape_html(change.note)}</td></tr>")
            body.append("</tbody></table>")
        for prose in story.prose:
            body.append(f"<h3>{escape_html(prose.title)} <small>({escape_html(prose.section)}, +{prose.added} "
                        f"-{prose.removed} words)</small></h3><p>{_html_words(prose)}</p>")
        body.append("</section>")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>{escape_html(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
