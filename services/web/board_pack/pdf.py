"""The board pack's HTML printed to PDF with WeasyPrint, offline.

The only things the HTML may load are the app's own files under /static, read from disk; any
other address (another host, another scheme, a path outside /static) is refused, so printing
never reaches the network. The charts are inline SVG, printed as vectors.
"""

import logging
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

STATIC = Path(__file__).resolve().parent.parent / "static"
BASE_URL = "http://board-pack.invalid/"
"""The pages' own address while printing: `/static/app.css` resolves under it."""
TYPES = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".js": "text/javascript"}

logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.WARNING)


class Refused(ValueError):
    """An address the pack may not load."""


class StaticOnly(URLFetcher):  # type: ignore[misc]
    """Serves `BASE_URL/static/...` from the app's static folder; refuses everything else."""

    def __init__(self, static: Path = STATIC) -> None:
        super().__init__(allowed_protocols=["http"], allow_redirects=False)
        self._static = static.resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        return URLFetcherResponse(url, self.read(url), {"Content-Type": self.type_of(url)})

    def read(self, url: str) -> bytes:
        """The file `url` names under /static, or Refused."""
        parts = urlsplit(url)
        base = urlsplit(BASE_URL)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            raise Refused(f"the board pack loads nothing from {parts.scheme}://{parts.netloc}")
        path = unquote(parts.path)
        if not path.startswith("/static/"):
            raise Refused("the board pack loads only the app's /static files")
        file = (self._static / path.removeprefix("/static/")).resolve()
        if not file.is_relative_to(self._static) or not file.is_file():
            raise Refused("no such static file")
        return file.read_bytes()

    @staticmethod
    def type_of(url: str) -> str:
        suffix = Path(urlsplit(url).path).suffix
        return TYPES.get(suffix) or mimetypes.guess_type(url)[0] or "application/octet-stream"


def pdf_bytes(html: str, static: Path = STATIC) -> bytes:
    """The HTML printed to A4 (the page size is the print layout's `@page` rule)."""
    return printed(html, static)[0]


def printed(html: str, static: Path = STATIC) -> tuple[bytes, int]:
    """The PDF and how many pages it has."""
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=StaticOnly(static)).render()
    data: bytes = document.write_pdf()
    return data, len(document.pages)
