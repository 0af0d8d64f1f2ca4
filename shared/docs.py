"""Each service's API documentation, /docs (Swagger UI) and /redoc, working with no internet.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so offline they are blank. Here the
same pages load the released assets that the maintained `fastapi-offline` package ships (Swagger
UI 5, ReDoc 2), served by the service itself under /docs-assets/, and Swagger UI's online
validator badge is turned off: a browser showing the docs asks nothing of any other host.

`offline_docs(app)` answers those paths in a middleware placed in front of the app's routes, so
FastAPI's CDN pages (made when the app is created) are never reached, without reaching into the
router's internals. The pages are public, like the OpenAPI document they show (shared.permissions).
"""

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

ASSETS = "/docs-assets"
MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
"""The files served from the package, by name."""
CACHED_FOR = "public, max-age=86400"


@cache
def asset(name: str) -> bytes:
    """One packaged asset's bytes, read once."""
    return (files("fastapi_offline") / "static" / name).read_bytes()


@dataclass(frozen=True)
class DocsPages:
    """What the pages need to know of the app (read when the app is secured)."""

    title: str
    openapi_url: str
    docs_url: str | None
    redoc_url: str | None
    oauth2_redirect_url: str | None
    init_oauth: dict[str, Any] | None
    swagger_ui_parameters: dict[str, Any]

    @classmethod
    def of(cls, app: FastAPI) -> "DocsPages | None":
        if app.openapi_url is None:
            return None
        return cls(
            title=app.title,
            openapi_url=app.openapi_url,
            docs_url=app.docs_url,
            redoc_url=app.redoc_url,
            oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
            init_oauth=app.swagger_ui_init_oauth,
            # No online validator: Swagger UI would send the document to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
        )

    def page(self, path: str, root: str) -> Response | None:
        """The page at `path` (below the app's root path `root`), or None if not ours."""
        if path == self.docs_url:
            redirect = self.oauth2_redirect_url
            return get_swagger_ui_html(
                openapi_url=root + self.openapi_url,
                title=f"{self.title} - Swagger UI",
                swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
                oauth2_redirect_url=root + redirect if redirect else None,
                init_oauth=self.init_oauth,
                swagger_ui_parameters=self.swagger_ui_parameters,
            )
        if path == self.redoc_url:
            return get_redoc_html(
                openapi_url=root + self.openapi_url,
                title=f"{self.title} - ReDoc",
                redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
                with_google_fonts=False,
            )
        if path.startswith(f"{ASSETS}/"):
            name = path.removeprefix(f"{ASSETS}/")
            if name not in MEDIA_TYPES:
                return Response("not found", status_code=404, media_type="text/plain")
            return Response(
                asset(name), media_type=MEDIA_TYPES[name], headers={"Cache-Control": CACHED_FOR}
            )
        return None


class OfflineDocs:
    """Answers GET/HEAD for the documentation pages and their assets; passes the rest on."""

    def __init__(self, app: ASGIApp, pages: DocsPages) -> None:
        self.app = app
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            root = str(scope.get("root_path", "")).rstrip("/")
            path = str(scope["path"])
            answer = self.pages.page(path.removeprefix(root) if root else path, root)
            if answer is not None:
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


def offline_docs(app: FastAPI) -> None:
    """Serve `app`'s /docs and /redoc from packaged assets instead of FastAPI's CDN pages."""
    pages = DocsPages.of(app)
    if pages is not None:
        app.add_middleware(OfflineDocs, pages=pages)
