"""Who is signed in, kept in a signed session cookie, and the CSRF token of every form.

The cookie (Starlette's SessionMiddleware: signed, not encrypted; HttpOnly, SameSite=Lax, Secure
outside local running) holds the person's staff id, name and the access token the APIs verify,
and the draft of the audit being recorded (kept until the session ends, so that submitting it
again replays the same audit instead of making another). A session unused for
`session_idle_minutes` ends: the next request signs in again.
"""

import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request, status

IDLE_KEY, PERSON_KEY, CSRF_KEY = "seen", "person", "csrf"


@dataclass(frozen=True)
class SignedIn:
    staff_id: str
    name: str
    token: str


class SignInRequired(Exception):
    """Not signed in (or the session went idle): the answer sends the browser to sign in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.location = f"/sign-in?next={quote(next_path)}"


def start(request: Request, person: SignedIn) -> None:
    """Begin a session: a new CSRF token too, so one from before signing in is worthless."""
    request.session.clear()
    request.session[PERSON_KEY] = {"staff_id": person.staff_id, "name": person.name}
    request.session["token"] = person.token
    request.session[CSRF_KEY] = secrets.token_urlsafe(32)
    request.session[IDLE_KEY] = time.time()


def end(request: Request) -> None:
    request.session.clear()


def signed_in(request: Request) -> SignedIn:
    """The signed-in person, or a redirect to sign in; each request restarts the idle clock."""
    session: dict[str, Any] = request.session
    idle_limit = request.app.state.settings.session_idle_minutes * 60
    person, seen = session.get(PERSON_KEY), session.get(IDLE_KEY, 0)
    if person is None or time.time() - seen > idle_limit:
        session.clear()
        raise SignInRequired(_page_to_return_to(request))
    session[IDLE_KEY] = time.time()
    return SignedIn(person["staff_id"], person["name"], session["token"])


Person = Annotated[SignedIn, Depends(signed_in)]


def _page_to_return_to(request: Request) -> str:
    """The page asked for; for a form sent after the session ended, the page the form was on
    (its action answers POST only), when the browser says which page of ours that was."""
    if request.method == "GET":
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/"


def csrf_token(request: Request) -> str:
    """The session's CSRF token (one is made for a visitor who has not signed in yet)."""
    token = request.session.get(CSRF_KEY)
    if token is None:
        token = request.session[CSRF_KEY] = secrets.token_urlsafe(32)
    return str(token)


async def check_csrf(request: Request) -> None:
    """Every form posts the session's CSRF token back; anything else is refused with 403."""
    form = await request.form()
    sent = form.get("csrf_token")
    expected = request.session.get(CSRF_KEY)
    if not isinstance(sent, str) or expected is None or not secrets.compare_digest(sent, expected):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "This form has expired: go back and try again."
        )


CsrfChecked = Depends(check_csrf)
