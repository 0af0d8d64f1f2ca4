"""The web front's scheduler client asks for one page of follow-ups at a time."""

import httpx

from services.web.clients.api import Api
from services.web.clients.scheduler import SchedulerClient


def asked(**call: object) -> dict[str, str]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    api = Api("http://scheduler", "token", timeout=1, transport=httpx.MockTransport(answer))
    SchedulerClient(api).followups(**call)
    [request] = seen
    assert request.url.path == "/followups"
    return dict(request.url.params)


def test_the_page_asked_for_is_sent_as_limit_and_offset_with_the_filters():
    assert asked(status="open", limit=26, offset=25) == {
        "status": "open",
        "limit": "26",
        "offset": "25",
    }


def test_without_a_page_the_apis_own_first_page_is_asked_for():
    assert asked(status="overdue", service_area="") == {"status": "overdue"}
