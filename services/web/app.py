"""The web front's app factory: pages over the services' APIs, GOV.UK Frontend served locally."""

import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from services.web.clients.api import ApiError
from services.web.pages import environment, render
from services.web.session import SignInRequired
from services.web.settings import WebSettings
from services.web.views import (
    action_page,
    action_rates,
    actions,
    allocations,
    audits,
    auth,
    board_pack,
    cases,
    dashboards,
    followups,
    home,
    inbox,
    moderation,
    programme,
)
from shared.access_log import install_access_log
from shared.auth import LocalIssuer
from shared.errors import RETRY_AFTER_SECONDS
from shared.http import ops_router
from shared.http_metrics import instrument
from shared.organisation import load_organisation

STATIC = Path(__file__).parent / "static"
STATIC_PREFIX = "/static/"
"""Where the assets are served: the only answers caches may keep."""
ROUTERS = (
    auth.router,
    home.router,
    audits.router,
    moderation.router,
    followups.router,
    actions.router,
    action_rates.router,
    action_page.router,  # after the other /actions/... pages: its path matches any of them
    dashboards.router,
    board_pack.router,
    cases.router,  # the case timeline, and a worker's learning (views.learning)
    inbox.router,
    programme.router,
    allocations.router,
)

# Pages load nothing from anywhere but the app; the layout's one inline script carries a nonce.
CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

API_ERRORS = {
    403: ("You cannot see this", "Your role and your service areas do not include it."),
    404: ("Page not found", "There is no such record. Check the reference and try again."),
    503: (
        "Sorry, the service is unavailable",
        "Part of the service cannot be reached just now. Anything you were sending was not "
        "saved. Try again in a few minutes.",
    ),
}


def create_app(settings: WebSettings) -> FastAPI:
    # Request lines name API paths, which may carry case references: not for the log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not (STATIC / "app.css").exists():
        raise RuntimeError(f"the web front's assets are not built: run `make install` ({STATIC})")
    app = FastAPI(title=settings.service_name, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.pages = environment()
    app.state.organisation = load_organisation(settings.organisation_file)
    if settings.local_signin_key_dir is not None:
        app.state.local_issuer = LocalIssuer(settings.local_signin_key_dir)
    if settings.oidc_issuer_url and settings.oidc_client_id:
        secret = settings.oidc_client_secret
        app.state.oidc = auth.council_provider(
            settings.oidc_issuer_url,
            settings.oidc_client_id,
            secret.get_secret_value() if secret else None,
        )
    app.mount(STATIC_PREFIX.rstrip("/"), StaticFiles(directory=STATIC), name="static")
    app.include_router(ops_router({}))
    for router in ROUTERS:
        app.include_router(router)
    _answer_errors(app)
    app.middleware("http")(_security_headers)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie="qa_session",
        max_age=12 * 3600,  # an upper bound; the idle timeout ends sessions far sooner
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    # Outermost, as in every service (shared.runtime): each answer counted and logged once.
    instrument(app)
    install_access_log(app)
    return app


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    request.state.csp_nonce = secrets.token_urlsafe(16)
    response = await call_next(request)
    response.headers["Content-Security-Policy"] = CSP.format(nonce=request.state.csp_nonce)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if not request.url.path.startswith(STATIC_PREFIX):
        # Pages and downloads (CSV) carry case references: no copy kept by any cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def _answer_errors(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in_first(_request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(ApiError)
    async def api_refused(request: Request, exc: ApiError) -> Response:
        if exc.status == 401:
            request.session.clear()  # the token is no longer accepted: sign in afresh
            return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303)
        title, message = API_ERRORS.get(
            exc.status,
            ("Sorry, there is a problem with the service", "Try again later."),
        )
        shown = render(
            request,
            "error.html",
            exc.status if exc.status in API_ERRORS else 502,
            title=title,
            message=message,
        )
        if exc.status == 503:
            shown.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return shown

    @app.exception_handler(RequestValidationError)
    async def bad_address(request: Request, _exc: RequestValidationError) -> Response:
        message = "The address has a value this page does not know. Go back and try again."
        return render(request, "error.html", 400, title="Page not found", message=message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        title = {403: "You cannot do this", 404: "Page not found", 405: "Page not found"}.get(
            exc.status_code, "Sorry, there is a problem"
        )
        # Starlette's own answers carry a reason phrase, ours a sentence a person can act on.
        plain = exc.detail in ("Not Found", "Method Not Allowed")
        message = "Check the address, or go back and try again." if plain else exc.detail
        return render(request, "error.html", exc.status_code, title=title, message=message)
