"""Signing in and out. Locally: pick a person from the demo organisation (the local stack's
issuer mints their token). In production: the council's OpenID Connect issuer."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
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
def sign_in_page(request: Request, next: str | None = None) -> Response:
    organisation: Organisation = request.app.state.organisation
    people = sorted(organisation.staff, key=lambda member: (member.role, member.name))
    return render(request, "sign_in.html", title="Sign in", people=people, next=safe_next(next))


@router.post("/sign-in", dependencies=[CsrfChecked])
def sign_in(
    request: Request,
    staff_id: Annotated[str | None, Form()] = None,
    next: Annotated[str | None, Form()] = None,
) -> Response:
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
    issuer: LocalIssuer = request.app.state.local_issuer
    token = issuer.mint(member.id, ttl_seconds=8 * 3600)
    session.start(request, SignedIn(member.id, member.name, token))
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/sign-out", dependencies=[CsrfChecked])
def sign_out(request: Request) -> Response:
    session.end(request)
    return render(request, "signed_out.html", title="You have signed out")
