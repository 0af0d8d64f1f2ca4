"""*My work*: what waits for the signed-in person, by what they do."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.clients.backends import Services
from services.web.pages import render
from services.web.session import Person

router = APIRouter()


@router.get("/")
def my_work(request: Request, person: Person, services: Services) -> Response:
    inbox = services.notifications.inbox(person.staff_id, limit=5)
    return render(request, "my_work.html", title="My work", unread=inbox["unread"])
