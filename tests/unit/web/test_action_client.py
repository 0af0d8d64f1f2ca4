"""The web front's scheduler client for actions: what it asks of the scheduler's API."""

import json

import httpx

from services.web.clients.api import Api
from services.web.clients.scheduler import SchedulerClient


def calling(method: str, *args: object, **kwargs: object) -> httpx.Request:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[] if request.method == "GET" else {})

    api = Api("http://scheduler", "token", timeout=1, transport=httpx.MockTransport(answer))
    getattr(SchedulerClient(api), method)(*args, **kwargs)
    [request] = seen
    return request


def test_overdue_actions_are_asked_for_as_overdue_true_with_the_page_and_filters():
    request = calling("actions", overdue=True, service_area="early_help", limit=101, offset=100)
    assert request.url.path == "/actions"
    assert dict(request.url.params) == {
        "overdue": "true",
        "service_area": "early_help",
        "limit": "101",
        "offset": "100",
    }


def test_not_overdue_and_empty_filters_are_not_sent():
    request = calling("actions", owner="S0006", overdue=False, status="")
    assert dict(request.url.params) == {"owner": "S0006"}


def test_an_update_and_a_verification_are_posted_to_the_action():
    update = calling("update_action", "ACT-1", {"changed_by": "S0006", "status": "done"})
    check = calling("verify_action", "ACT-1", {"outcome": "verified"})
    assert (update.method, update.url.path) == ("POST", "/actions/ACT-1")
    assert json.loads(update.content) == {"changed_by": "S0006", "status": "done"}
    assert (check.method, check.url.path) == ("POST", "/actions/ACT-1/verification")


def test_one_action_and_the_rates_by_month():
    assert calling("action", "ACT-1").url.path == "/actions/ACT-1"
    stats = calling("action_stats", "2026-04", "2026-11")
    assert (stats.url.path, dict(stats.url.params)) == (
        "/stats/actions",
        {"from_month": "2026-04", "to_month": "2026-11"},
    )
