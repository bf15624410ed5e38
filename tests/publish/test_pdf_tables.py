"""A long table in a PDF (the model's history over many versions) runs over pages one whole row at a time, its
header repeated; read back from a real WeasyPrint PDF with pypdf."""

from __future__ import annotations

import io
import re
from pathlib import Path

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
