"""PDFs with WeasyPrint, fetching nothing but files inside one folder."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from storybook.errors import PublishError
from storybook.files import FileTooLarge, read_at_most

__all__ = ["LocalFetcherError", "render_pdf"]


class LocalFetcherError(ValueError):
    """A PDF asked for something outside the folder it may read."""


def _fetcher(root: Path) -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    allowed = root.resolve()

    class LocalOnly(URLFetcher):  # type: ignore[misc]
        """Serves files under ``root`` and refuses every other URL, including http(s) and data."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            if parts.scheme != "file":
                raise LocalFetcherError(f"refused to fetch {parts.scheme}: URL")
            path = Path(unquote(parts.path)).resolve()
            if not path.is_relative_to(allowed) or not path.is_file():
                raise LocalFetcherError("refused to read a file outside the site")
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": _mime(path)})

    return LocalOnly()


def _mime(path: Path) -> str:
    return {".svg": "image/svg+xml", ".css": "text/css", ".png": "image/png"}.get(path.suffix, "text/plain")


_fonts: dict[str, Any] = {}


def _font_config() -> Any:
    """One WeasyPrint font configuration for every PDF this process prints (fontconfig's set of fonts is read
    once, not once per PDF: about 6% of a PDF's time). The pages' stylesheet is storybook's own and declares no
    @font-face, so nothing piles up in it, and the PDFs come out byte for byte the same."""
    font_config = _fonts.get("config")
    if font_config is None:
        from weasyprint.text.fonts import FontConfiguration

        font_config = _fonts["config"] = FontConfiguration()
    return font_config


# The link every storybook page has to its stylesheet (templates/_base.html), and the stylesheet's place in the site.
STYLESHEET_LINK = '<link rel="stylesheet" href="assets/style.css">'
STYLESHEET = "assets/style.css"
MAX_STYLESHEET_BYTES = 1_000_000
_sheets: dict[tuple[str, str], Any] = {}


def _parsed_once(html: str, base: Path) -> tuple[str, list[Any]]:
    """``html`` without its link to storybook's stylesheet, and that stylesheet parsed once per process (about 7%
    of a PDF's time), when the page links it exactly once; else ``html`` as it is, and no stylesheet.

    The PDF is the same byte for byte: WeasyPrint applies a stylesheet it is given after the browser's own and
    before the page's inline styles, as it applies the one the page links when that is the page's only one."""
    if html.count(STYLESHEET_LINK) != 1 or html.count("<link") != 1 or "<style" in html:
        return html, []
    try:
        text = read_at_most(base / STYLESHEET, MAX_STYLESHEET_BYTES)
    except (OSError, FileTooLarge):
        return html, []
    base_url = base.resolve().as_uri() + "/"
    key = (base_url, hashlib.sha256(text).hexdigest())
    sheet = _sheets.get(key)
    if sheet is None:
        from weasyprint import CSS

        _sheets.clear()  # one site at a time
        sheet = _sheets[key] = CSS(string=text.decode("utf-8"), base_url=base_url + STYLESHEET,
                                   url_fetcher=_fetcher(base), font_config=_font_config())
    return html.replace(STYLESHEET_LINK, "", 1), [sheet]


def render_pdf(html: str, base: Path, *, title: str) -> bytes:
    """Render ``html`` whose relative links point into ``base`` (the staged site)."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    try:
        page, sheets = _parsed_once(html, base)
        document = HTML(string=page, base_url=base.resolve().as_uri() + "/", url_fetcher=_fetcher(base))
        pdf: bytes = document.write_pdf(font_config=_font_config(), stylesheets=sheets)
    except Exception as exc:
        raise PublishError(f"could not render the PDF of {title!r}: {type(exc).__name__}") from None
    return pdf
