"""A long table in a PDF (the model's history over many versions) runs over pages one whole row at a time, its
header repeated; read back from a real WeasyPrint PDF with pypdf."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from storybook.publish.pdf import render_pdf
from storybook.render.pages import stylesheet

ROWS = 70


def _long_table_pdf(tmp_path: Path, css: str) -> list[str]:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "style.css").write_text(css)
    rows = "".join(
        f'<tr><th scope="row">{n}</th><td>row{n}first</td><td class="num">0.{n:03d}</td>'
        f"<td>Settings: row{n}first changed.<br>{'Another line.<br>' * (n % 7)}row{n}last</td></tr>"
        for n in range(1, ROWS + 1))
    html = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>'
            '<link rel="stylesheet" href="assets/style.css"></head><body><main id="main"><h1>History</h1>'
            '<div class="table-scroll"><table class="timeline"><caption>Versions</caption><thead><tr>'
            '<th scope="col">Version</th><th scope="col">Run</th><th scope="col">Recall</th>'
            '<th scope="col">Changeheader</th></tr></thead><tbody>' + rows
            + "</tbody></table></div></main></body></html>")
    reader = PdfReader(io.BytesIO(render_pdf(html, tmp_path, title="t")))
    return [" ".join((page.extract_text() or "").split()) for page in reader.pages]


def _pages_of(pages: list[str], word: str) -> set[int]:
    return {number for number, text in enumerate(pages) if re.search(rf"\b{word}\b", text)}


def test_no_row_of_a_long_table_straddles_two_pages(tmp_path: Path) -> None:
    pages = _long_table_pdf(tmp_path, stylesheet())
    assert len(pages) >= 3
    for n in range(1, ROWS + 1):
        first, last = _pages_of(pages, f"row{n}first"), _pages_of(pages, f"row{n}last")
        assert len(first) == 1 and first == last, f"row {n} is on pages {sorted(first)} and {sorted(last)}"
    # The header is repeated on every page the table runs over.
    assert all("Changeheader" in text for text in pages)


def test_the_print_stylesheet_keeps_rows_whole() -> None:
    css = stylesheet()
    prints = " ".join(re.findall(r"@media print \{(.*?)\n\}", css, re.DOTALL))
    assert re.search(r"\btr\b[^{]*\{[^}]*break-inside:\s*avoid", prints)
    assert "display: table-header-group" in prints


def test_a_history_table_with_many_figures_fits_the_page_width(tmp_path: Path) -> None:
    """Twelve figures with their ranges: every piece of text starts inside the page (none is cut off)."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "style.css").write_text(stylesheet())
    figures = 12
    head = "".join(f'<th scope="col">Figure {i} with a long label</th>' for i in range(figures))
    rows = "".join(
        f"<tr><th scope='row'>{n}</th><td>12 March 2026<br><span class='range'>run brisk-owl-{n}</span></td>"
        "<td>champion (since 3 May 2026)</td>"
        + "".join(f'<td class="num">0.{n}{i}3<br><span class="range">(0.812&ndash;0.901)</span></td>'
                  for i in range(figures))
        + f"<td>Settings: C 1.0 → 0.5. <strong>Recall clearly higher.</strong> lastcell{n}</td></tr>"
        for n in range(1, 6))
    html = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>'
            '<link rel="stylesheet" href="assets/style.css"></head><body><main id="main">'
            '<div class="table-scroll"><table class="timeline"><thead><tr><th scope="col">Version</th>'
            f'<th scope="col">Registered</th><th scope="col">Aliases</th>{head}<th scope="col">What changed</th>'
            f"</tr></thead><tbody>{rows}</tbody></table></div></main></body></html>")
    reader = PdfReader(io.BytesIO(render_pdf(html, tmp_path, title="t")))
    starts: list[tuple[float, str]] = []
    for page in reader.pages:
        width = float(page.mediabox.width)

        def seen(text: str, cm: list[float], tm: list[float], *_: object) -> None:
            if text.strip():
                starts.append((cm[4] + tm[4] * cm[0], text.strip()))

        page.extract_text(visitor_text=seen)
        outside = [(round(x), text) for x, text in starts if not 0 <= x < width]
        assert outside == [], outside[:5]
    shown = " ".join(text for _, text in starts)
    assert all(f"lastcell{n}" in shown for n in range(1, 6))


def test_pdfs_printed_in_one_process_share_one_font_configuration_and_come_out_the_same(tmp_path: Path) -> None:
    """The font configuration is made once per process; a PDF printed with it is byte for byte the one WeasyPrint
    prints with a configuration of its own."""
    from weasyprint import HTML

    from storybook.publish import pdf

    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "style.css").write_text(stylesheet())
    html = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>'
            '<link rel="stylesheet" href="assets/style.css"></head><body><main id="main"><h1>Screening</h1>'
            "<p>Of every 1,000 people screened, 82 are flagged.</p></main></body></html>")
    first = render_pdf(html, tmp_path, title="t")
    shared = pdf._font_config()
    second = render_pdf(html, tmp_path, title="t")
    assert pdf._font_config() is shared
    own = HTML(string=html, base_url=tmp_path.resolve().as_uri() + "/",
               url_fetcher=pdf._fetcher(tmp_path)).write_pdf()
    assert first == second == own
    assert "82 are flagged" in " ".join((PdfReader(io.BytesIO(second)).pages[0].extract_text() or "").split())


def test_storybook_s_stylesheet_is_parsed_once_per_process_and_the_pdfs_do_not_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages' stylesheet, given to WeasyPrint parsed once instead of linked from each page, prints the same
    PDF byte for byte: a one-page summary (its named @page and print rules) and a long table."""
    import weasyprint
    from weasyprint import HTML

    from storybook.publish import pdf

    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "style.css").write_text(stylesheet())
    rows = "".join(f'<tr><th scope="row">{n}</th><td class="num">0.{n:03d}</td></tr>' for n in range(60))
    pages = [('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>'
              f'{pdf.STYLESHEET_LINK}</head><body>{body}</body></html>') for body in (
        '<main class="summary" id="main"><h1>Screening</h1><p class="lead">Of every 1,000 people, 82 are '
        'flagged.</p></main>',
        f'<main id="main"><h1>History</h1><table class="timeline"><tbody>{rows}</tbody></table></main>')]
    parsed: list[object] = []
    original = weasyprint.CSS.__init__

    def counting(self: weasyprint.CSS, *args: Any, **kwargs: Any) -> None:
        parsed.append(kwargs.get("url") or str(kwargs.get("string", ""))[:20])
        original(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.CSS, "__init__", counting)
    pdf._sheets.clear()
    printed = [render_pdf(page, tmp_path, title="t") for page in pages * 2]
    assert len(parsed) == 1  # one stylesheet for four PDFs
    monkeypatch.setattr(weasyprint.CSS, "__init__", original)
    for page, made in zip(pages * 2, printed, strict=True):
        own = HTML(string=page, base_url=tmp_path.resolve().as_uri() + "/",
                   url_fetcher=pdf._fetcher(tmp_path)).write_pdf()
        assert made == own
    assert len(PdfReader(io.BytesIO(printed[0])).pages) == 1


def test_a_page_with_styles_of_its_own_is_printed_with_its_links_as_they_are(tmp_path: Path) -> None:
    from storybook.publish import pdf

    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "style.css").write_text(stylesheet())
    for head in (f"{pdf.STYLESHEET_LINK}<style>h1 {{ color: red }}</style>",
                 f'{pdf.STYLESHEET_LINK}<link rel="stylesheet" href="assets/more.css">', ""):
        html = f"<!doctype html><html><head>{head}</head><body><h1>A</h1></body></html>"
        assert pdf._parsed_once(html, tmp_path) == (html, [])
    page = f"<!doctype html><html><head>{pdf.STYLESHEET_LINK}</head><body><h1>A</h1></body></html>"
    (tmp_path / "assets" / "style.css").unlink()  # nothing to share: the page keeps its link
    assert pdf._parsed_once(page, tmp_path) == (page, [])
