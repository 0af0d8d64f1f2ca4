"""The record-a-grade form shows a rationale's personal-data caution and lets the moderator keep
it with a tick, sent back to the API as `confirmed`."""

from services.web.clients.api import ApiError
from tests.unit.web.pages import FakeBackends, page, sign_in, text, web
from tests.unit.web.test_moderation_pages import MODERATOR, form_of, moderation

TYPED = "Seen with Jane at 12 Acacia Road"
CAUTION = ApiError(
    422,
    "Some answers need changing",
    {"rationale": "this looks like it holds an address: write about practice"},
    confirmations={"rationale": "this looks like it holds an address: write about practice"},
    codes={"rationale": "personal_data"},
)


def test_a_caution_is_shown_with_a_box_to_keep_the_rationale_and_the_answers_kept():
    fakes = FakeBackends({"moderation.moderation": moderation(), "moderation.record": CAUTION})
    with web(fakes) as client:
        sign_in(client, MODERATOR)
        sent = form_of(client, "/moderations/M-1") | {"moderated_grade": "good", "rationale": TYPED}
        answer = client.post("/moderations/M-1", data=sent)
    soup = page(answer)
    assert answer.status_code == 422
    link = soup.select_one(".govuk-error-summary__list a")
    assert link["href"] == "#confirmed-personal_data"
    assert link.get_text(strip=True) == (
        "Rationale: this looks like it holds an address: write about practice"
    )
    box = soup.select_one("form input[name=confirmed][value=personal_data]")
    assert box is not None
    assert not box.has_attr("checked")
    assert "I have checked this and want to keep it" in text(
        soup, "form[action='/moderations/M-1']"
    )
    assert soup.select_one("#rationale").get_text() == TYPED
    assert soup.select_one("input[name=request_id]")["value"] == sent["request_id"]


def test_the_ticked_caution_is_sent_back_as_confirmed():
    fakes = FakeBackends({"moderation.moderation": moderation(), "moderation.record": {}})
    with web(fakes) as client:
        sign_in(client, MODERATOR)
        sent = form_of(client, "/moderations/M-1") | {
            "moderated_grade": "good",
            "rationale": TYPED,
            "confirmed": "personal_data",
        }
        assert client.post("/moderations/M-1", data=sent).status_code == 303
    [(_, body)] = [args for name, args, _ in fakes.calls if name == "moderation.record"]
    assert body["confirmed"] == ["personal_data"]
