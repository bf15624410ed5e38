"""PDFs with WeasyPrint, fetching nothing but files inside one folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from storybook.errors import PublishError

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


def render_pdf(html: str, base: Path, *, title: str) -> bytes:
    """Render ``html`` whose relative links point into ``base`` (the staged site)."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    try:
        document = HTML(string=html, base_url=base.resolve().as_uri() + "/", url_fetcher=_fetcher(base))
        pdf: bytes = document.write_pdf(font_config=_font_config())
    except Exception as exc:
        raise PublishError(f"could not render the PDF of {title!r}: {type(exc).__name__}") from None
    return pdf
