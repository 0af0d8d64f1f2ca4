"""The inbox (what the person was told, mark as read) and their notification preferences."""

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from services.web.clients.backends import Services
from services.web.listing import PageNumber, page_from_api
from services.web.pages import render
from services.web.session import CsrfChecked, Person

router = APIRouter()

CHOICES = (
    ("immediately", "Immediately", "An email for each message, as it happens."),
    ("daily_digest", "Daily digest", "One email a day listing that day's messages."),
)


def on_this_site(link: str) -> str:
    """A notification's link is an absolute URL to this web front: keep its path only."""
    parts = urlsplit(link)
    # One leading slash only: `//host/...` would be another site's address.
    path = "/" + parts.path.lstrip("/") if parts.path.startswith("/") else "/"
    return path + (f"?{parts.query}" if parts.query else "")


@router.get("/inbox")
def inbox(request: Request, person: Person, services: Services, page: PageNumber = 1) -> Response:
    unread: list[int] = []

    def fetch(limit: int, offset: int) -> list[dict[str, Any]]:
        found = services.notifications.inbox(person.staff_id, limit=limit, offset=offset)
        unread.append(found["unread"])
        return [{**item, "path": on_this_site(item["link"])} for item in found["items"]]

    shown = page_from_api(fetch, page)
    return render(
        request,
        "inbox/inbox.html",
        title="Inbox",
        unread=unread[0],
        items=shown.items,
        pagination=shown.pagination("/inbox", {}),
    )


@router.post("/inbox/{notification_id}/read", dependencies=[CsrfChecked])
def mark_read(notification_id: str, person: Person, services: Services) -> Response:
    services.notifications.mark_read(notification_id)
    return RedirectResponse("/inbox", status_code=303)


def _preferences_page(
    request: Request, chosen: str, error: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "inbox/preferences.html",
        status_code,
        title="Your notification preferences",
        choices=[
            {"value": value, "text": text, "hint": {"text": hint}, "checked": value == chosen}
            for value, text, hint in CHOICES
        ],
        errors={"information": error} if error else {},
        saved=request.query_params.get("saved") == "1",
    )


@router.get("/preferences")
def preferences(request: Request, person: Person, services: Services) -> Response:
    found = services.notifications.preferences(person.staff_id)
    return _preferences_page(request, found["information"])


@router.post("/preferences", dependencies=[CsrfChecked])
def change_preferences(
    request: Request,
    person: Person,
    services: Services,
    information: Annotated[str, Form()] = "",
) -> Response:
    if information not in {value for value, _, _ in CHOICES}:
        return _preferences_page(
            request, "", "Select how you want to get information messages", 422
        )
    services.notifications.set_preferences(person.staff_id, information)
    return RedirectResponse("/preferences?saved=1", status_code=303)
