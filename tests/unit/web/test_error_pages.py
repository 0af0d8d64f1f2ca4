"""When something goes wrong, a person gets a page that says what to do, never JSON or a 500."""

import time

from services.web.clients.api import ApiError
from tests.unit.web.pages import FakeBackends, csrf, page, sign_in, text, web


def test_a_service_that_does_not_answer_is_a_page_saying_try_again_shortly():
    down = ApiError(503, "the service did not answer (ConnectError)")
    fakes = FakeBackends({"notifications.inbox": {"unread": 0, "items": []}, "audit.audit": down})
    with web(fakes) as client:
        sign_in(client, "S0003")
        answer = client.get("/audits/AUD-1")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    shown = page(answer)
    assert text(shown, "h1") == "Sorry, the service is unavailable"
    assert "Try again in a few minutes" in text(shown, "main")


def test_another_failure_of_a_service_is_a_page_saying_try_later():
    broken = ApiError(500, "Internal Server Error")
    fakes = FakeBackends({"notifications.inbox": {"unread": 0, "items": []}, "audit.audit": broken})
    with web(fakes) as client:
        sign_in(client, "S0003")
        answer = client.get("/audits/AUD-1")
    assert answer.status_code == 502
    assert text(page(answer), "h1") == "Sorry, there is a problem with the service"


def test_my_work_still_shows_when_the_inbox_cannot_be_read():
    fakes = FakeBackends({"notifications.inbox": ApiError(503, "down")})
    with web(fakes) as client:
        sign_in(client, "S0003")
        answer = client.get("/")
    assert answer.status_code == 200
    assert "inbox cannot be shown right now" in text(page(answer), "main")


def test_an_unknown_address_is_a_page_not_json():
    with web() as client:
        sign_in(client, "S0003")
        missing = client.get("/no-such-page")
        wrong_value = client.get("/moderations?page=not-a-number")
    assert missing.status_code == 404
    assert text(page(missing), "h1") == "Page not found"
    assert wrong_value.status_code == 400
    assert missing.headers["content-type"].startswith("text/html")


def test_a_form_sent_after_the_session_went_idle_returns_to_the_forms_page(monkeypatch):
    with web(session_idle_minutes=1) as client:
        sign_in(client, "S0003")
        token = csrf(client, "/")
        later = time.time() + 61
        monkeypatch.setattr(time, "time", lambda: later)
        answer = client.post(
            "/followups/F-1/conversation",
            data={"csrf_token": token},
            headers={"referer": "http://testserver/followups/F-1"},
        )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/followups/F-1"


def test_a_connection_failure_to_an_api_becomes_an_api_error():
    import httpx
    import pytest

    from services.web.clients.api import Api

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    api = Api("http://audit.invalid", "token", timeout=1, transport=httpx.MockTransport(refuse))
    with pytest.raises(ApiError) as raised:
        api.get("/audits")
    assert raised.value.status == 503
