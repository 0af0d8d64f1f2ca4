"""The inbox and notification preferences."""

from services.web.views.inbox import on_this_site
from tests.unit.web.pages import FakeBackends, csrf, page, sign_in, text, web

ME = "S0006"


def item(**changes):
    return {
        "id": "N-1",
        "kind": "information",
        "case_id": "CASE-101",
        "subject": "An audit of your case was graded",
        "text": "…",
        "link": "http://127.0.0.1:8005/audits/A-1",
        "received_at": "2026-11-25T09:30:00+00:00",
        "read": False,
    } | changes


def inbox(*items):
    return {"staff_id": ME, "unread": sum(not i["read"] for i in items), "items": list(items)}


def test_the_inbox_marks_unread_items_and_links_to_their_pages_on_this_site():
    fakes = FakeBackends(
        {
            "notifications.inbox": inbox(
                item(),
                item(
                    id="N-2",
                    subject="Moderation completed",
                    link="https://qa.example/moderations/M-1",
                    read=True,
                ),
            )
        }
    )
    with web(fakes) as client:
        sign_in(client, ME)
        soup = page(client.get("/inbox"))
    assert text(soup, "h1") == "Inbox"
    assert "You have 1 unread message" in text(soup, "main")
    rows = soup.select("tbody tr")
    assert text(rows[0], ".govuk-tag") == "Unread"
    assert rows[0].select_one("a")["href"] == "/audits/A-1"
    assert rows[0].select_one("a").get_text(strip=True) == "An audit of your case was graded"
    assert "25 November 2026 at 09:30" in text(rows[0], "td:nth-of-type(3)")
    assert rows[1].select_one(".govuk-tag") is None
    assert rows[1].select_one("a")["href"] == "/moderations/M-1"
    assert rows[1].select_one("form") is None  # read already
    form = rows[0].select_one("form")
    assert form["action"] == "/inbox/N-1/read"
    assert form.select_one("input[name=csrf_token]")["value"]
    # The first page, and one row beyond it to know whether another follows.
    assert ("notifications.inbox", (ME,), {"limit": 26, "offset": 0}) in fakes.calls


def test_an_empty_inbox_says_nothing_is_waiting():
    with web(FakeBackends({"notifications.inbox": inbox()})) as client:
        sign_in(client, ME)
        assert "Nothing waiting." in text(page(client.get("/inbox")), "main")


def test_marking_an_item_read_goes_back_to_the_inbox():
    fakes = FakeBackends({"notifications.inbox": inbox(item()), "notifications.mark_read": {}})
    with web(fakes) as client:
        sign_in(client, ME)
        answer = client.post("/inbox/N-1/read", data={"csrf_token": csrf(client, "/inbox")})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/inbox"
    assert ("notifications.mark_read", ("N-1",), {}) in fakes.calls


def test_marking_read_needs_the_csrf_token():
    fakes = FakeBackends({"notifications.inbox": inbox(item())})
    with web(fakes) as client:
        sign_in(client, ME)
        answer = client.post("/inbox/N-1/read", data={"csrf_token": "forged"})
    assert answer.status_code == 403
    assert not any(name == "notifications.mark_read" for name, _, _ in fakes.calls)


def test_preferences_show_the_current_choice():
    fakes = FakeBackends(
        {"notifications.preferences": {"staff_id": ME, "information": "daily_digest"}}
    )
    with web(fakes) as client:
        sign_in(client, ME)
        soup = page(client.get("/preferences"))
    assert text(soup, "h1") == "When do you want emails about information messages?"
    assert soup.select_one("input[name=information][value=daily_digest]").has_attr("checked")
    assert not soup.select_one("input[name=information][value=immediately]").has_attr("checked")
    assert soup.select_one("form[action='/preferences'] input[name=csrf_token]")["value"]


def test_changing_preferences_saves_and_shows_a_banner():
    fakes = FakeBackends(
        {
            "notifications.preferences": {"staff_id": ME, "information": "immediately"},
            "notifications.set_preferences": {},
        }
    )
    with web(fakes) as client:
        sign_in(client, ME)
        token = csrf(client, "/preferences")
        answer = client.post(
            "/preferences", data={"csrf_token": token, "information": "daily_digest"}
        )
        shown = page(client.get(answer.headers["location"]))
    assert answer.status_code == 303
    assert ("notifications.set_preferences", (ME, "daily_digest"), {}) in fakes.calls
    assert "Your preferences have been saved" in text(shown, ".govuk-notification-banner")


def test_no_choice_is_an_error_linked_to_the_radios():
    fakes = FakeBackends(
        {"notifications.preferences": {"staff_id": ME, "information": "immediately"}}
    )
    with web(fakes) as client:
        sign_in(client, ME)
        answer = client.post("/preferences", data={"csrf_token": csrf(client, "/preferences")})
    soup = page(answer)
    assert answer.status_code == 422
    link = soup.select_one(".govuk-error-summary__list a")
    assert link["href"] == "#information"
    assert soup.select_one("#information") is not None
    assert not any(name == "notifications.set_preferences" for name, _, _ in fakes.calls)


def test_a_link_is_kept_on_this_site_whatever_host_it_names():
    assert on_this_site("https://evil.example/followups/F-1?x=1") == "/followups/F-1?x=1"
    assert on_this_site("javascript:alert(1)") == "/"
    assert on_this_site("http://127.0.0.1:8005//evil.example/x") == "/evil.example/x"


def test_a_long_inbox_is_paged_by_the_api_and_counts_unread_on_every_page():
    fakes = FakeBackends(
        {"notifications.inbox": inbox(*[item() for _ in range(26)]) | {"unread": 40}}
    )
    with web(fakes) as client:
        sign_in(client, ME)
        second = page(client.get("/inbox?page=2"))
    assert ("notifications.inbox", (ME,), {"limit": 26, "offset": 25}) in fakes.calls
    assert "You have 40 unread messages" in second.text
    assert second.select_one(".govuk-pagination") is not None
