"""Signing in and out. Locally: pick a person from the demo organisation (the local stack's
issuer mints their token). In production: the council's OpenID Connect issuer."""

from typing import Annotated, Any

from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from services.web import session
from services.web.pages import render
from services.web.session import CsrfChecked, SignedIn
from shared.auth import LocalIssuer
from shared.organisation import Organisation

router = APIRouter()


def safe_next(next_path: str | None) -> str:
    """Only a path of this app: never another host (an open redirect)."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//"):
        return "/"
    return next_path


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    provider = getattr(request.app.state, "oidc", None)
    if provider is not None:  # the council's identity provider: authorization code with PKCE
        request.session["after_sign_in"] = safe_next(next)
        redirect: Response = await provider.authorize_redirect(
            request, str(request.url_for("oidc_callback"))
        )
        return redirect
    organisation: Organisation = request.app.state.organisation
    people = sorted(organisation.staff, key=lambda member: (member.role, member.name))
    return render(request, "sign_in.html", title="Sign in", people=people, next=safe_next(next))


@router.post("/sign-in", dependencies=[CsrfChecked])
def sign_in(
    request: Request,
    staff_id: Annotated[str | None, Form()] = None,
    next: Annotated[str | None, Form()] = None,
) -> Response:
    issuer: LocalIssuer | None = getattr(request.app.state, "local_issuer", None)
    if issuer is None:  # before anything else: the staff list is for local running only
        raise HTTPException(404, "Sign in through your organisation's account.")
    organisation: Organisation = request.app.state.organisation
    member = organisation.staff_by_id.get(staff_id or "")
    if member is None:
        people = sorted(organisation.staff, key=lambda m: (m.role, m.name))
        errors = {"staff_id": "Select who you are"}
        return render(
            request,
            "sign_in.html",
            422,
            title="Sign in",
            people=people,
            errors=errors,
            next=safe_next(next),
        )
    token = issuer.mint(member.id, ttl_seconds=8 * 3600)
    session.start(request, SignedIn(member.id, member.name, token))
    return RedirectResponse(safe_next(next), status_code=303)


@router.get("/sign-in/callback", name="oidc_callback")
async def oidc_callback(request: Request) -> Response:
    """The identity provider sends the browser back with a code; its access token is what the
    APIs verify, and its ID token's subject must be a staff id of the organisation file."""
    provider = getattr(request.app.state, "oidc", None)
    if provider is None:
        raise HTTPException(404, "Not found")
    after = request.session.pop("after_sign_in", "/")
    try:
        token = await provider.authorize_access_token(request)
    except OAuthError as exc:
        raise HTTPException(403, f"Signing in did not work ({exc.error}): try again.") from exc
    organisation: Organisation = request.app.state.organisation
    member = organisation.staff_by_id.get(str(token.get("userinfo", {}).get("sub", "")))
    if member is None:
        raise HTTPException(403, "Your account is not one of this service's staff.")
    session.start(request, SignedIn(member.id, member.name, token["access_token"]))
    return RedirectResponse(safe_next(after), status_code=303)


def council_provider(issuer_url: str, client_id: str, client_secret: str | None) -> Any:
    """The OpenID Connect client (authlib): discovery, authorization code, PKCE (S256)."""
    oauth = OAuth()
    oauth.register(
        "council",
        server_metadata_url=f"{issuer_url.rstrip('/')}/.well-known/openid-configuration",
        client_id=client_id,
        client_secret=client_secret,
        client_kwargs={"scope": "openid profile", "code_challenge_method": "S256"},
    )
    return oauth.create_client("council")


@router.post("/sign-out", dependencies=[CsrfChecked])
def sign_out(request: Request) -> Response:
    session.end(request)
    return render(request, "signed_out.html", title="You have signed out")
