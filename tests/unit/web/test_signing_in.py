"""Signing in locally, sessions, CSRF and what every page carries."""

import re
import time

from tests.unit.web.pages import FakeBackends, csrf, page, sign_in, text, web


def test_a_visitor_is_sent_to_sign_in_and_back_to_the_page_they_asked_for():
    with web() as client:
        answer = client.get("/?shown=overdue")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/sign-in?next=/%3Fshown%3Doverdue"


def test_signing_in_as_a_demo_person_opens_my_work():
    fakes = FakeBackends({"notifications.inbox": {"unread": 3, "items": []}})
    with web(fakes) as client:
        sign_in(client, "S0003")
        home = page(client.get("/"))
    assert text(home, "h1") == "My work"
    assert "Signed in as Chloe Carter" in text(home, ".app-sign-out")
    assert "3 unread messages" in text(home, "main")
    assert ("notifications.inbox", ("S0003",), {"limit": 5}) in fakes.calls


def test_choosing_nobody_shows_the_error_summary_linked_to_the_field():
    with web() as client:
        answer = client.post("/sign-in", data={"csrf_token": csrf(client)})
    soup = page(answer)
    assert answer.status_code == 422
    assert text(soup, ".govuk-error-summary__list a") == "Select who you are"
    assert soup.select_one(".govuk-error-summary__list a")["href"] == "#staff_id"
    assert soup.title.get_text().startswith("Error: ")


def test_a_form_without_the_sessions_csrf_token_is_refused():
    with web() as client:
        csrf(client)
        answer = client.post("/sign-in", data={"staff_id": "S0003", "csrf_token": "forged"})
    assert answer.status_code == 403
    assert "This form has expired" in text(page(answer), "main")


def test_sign_in_never_sends_anyone_to_another_site():
    with web() as client:
        token = csrf(client)
        answer = client.post(
            "/sign-in", data={"staff_id": "S0003", "csrf_token": token, "next": "//evil.example"}
        )
    assert answer.headers["location"] == "/"


def test_an_idle_session_signs_in_again(monkeypatch):
    with web(session_idle_minutes=1) as client:
        sign_in(client, "S0003")
        assert client.get("/").status_code == 200
        later = time.time() + 61
        monkeypatch.setattr(time, "time", lambda: later)
        assert client.get("/").headers["location"] == "/sign-in?next=/"


def test_signing_out_ends_the_session():
    with web() as client:
        sign_in(client, "S0003")
        token = csrf(client, "/")
        out = client.post("/sign-out", data={"csrf_token": token})
        assert text(page(out), "h1") == "You have signed out"
        assert client.get("/").status_code == 303


def test_the_session_cookie_is_httponly_and_samesite_and_secure_outside_local_running():
    with web(secure_cookies=True) as client:
        answer = client.get("/sign-in")
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" in cookie


def test_pages_load_nothing_from_another_host_and_forbid_it_by_policy():
    with web() as client:
        answer = client.get("/sign-in")
    soup = page(answer)
    sources = [tag.get("src") or tag.get("href") for tag in soup.select("script, link, img")]
    assert sources
    assert all(s.startswith("/") for s in sources if s), sources
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    nonce = re.search(r"'nonce-([^']+)'", policy)
    inline = [s for s in soup.select("script") if not s.get("src")]
    assert nonce
    assert inline
    assert all(s.get("nonce") == nonce.group(1) for s in inline)


def test_the_govuk_frontend_assets_are_served_by_the_app_itself():
    with web() as client:
        css = client.get("/static/app.css")
        script = client.get("/static/govuk/govuk-frontend.min.js")
    assert css.status_code == 200
    assert "govuk-" in css.text
    assert "GDS Transport" not in css.text  # GOV.UK's font is for GOV.UK only
    assert script.status_code == 200
