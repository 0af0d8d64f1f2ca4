"""A rationale that looks like it holds a child's details is flagged to the moderator before it
is saved; kept only when they confirm it. Long rationales are refused."""

import pytest
from pydantic import ValidationError

from services.moderation.domain import RATIONALE_MAX_CHARS, ModerationForm, record
from shared.confirmations import NeedsConfirmation
from shared.personal_data import PERSONAL_DATA
from tests.unit.moderation.test_moderation_api import client, moderation, post  # noqa: F401
from tests.unit.moderation.test_moderation_decisions import MODERATOR, NOW, RI, open_moderation

TYPED = "Jane Smith, born 1 May 2015, was seen at 12 Acacia Road"


def form(rationale: str, confirmed: list[str] | None = None) -> ModerationForm:
    return ModerationForm(
        moderator_id=MODERATOR,
        moderated_grade=RI,
        rationale=rationale,
        request_id="request-0001",
        confirmed=confirmed or [],
    )


def test_a_rationale_that_looks_like_personal_data_needs_the_moderators_confirmation():
    with pytest.raises(NeedsConfirmation) as refused:
        record(open_moderation(), form(TYPED), NOW)
    [caution] = refused.value.cautions
    assert (caution.code, caution.field) == (PERSONAL_DATA, "rationale")
    assert "Jane" not in caution.message


def test_a_confirmed_rationale_is_kept_but_never_put_on_an_event():
    recorded = record(open_moderation(), form(TYPED, [PERSONAL_DATA]), NOW)
    assert recorded.moderation.outcome is not None
    assert recorded.moderation.outcome.rationale == TYPED
    assert all("rationale" not in event.model_dump() for event in recorded.events)


def test_a_rationale_about_practice_needs_no_confirmation():
    recorded = record(open_moderation(), form("Risk was managed; planning needs work"), NOW)
    assert len(recorded.events) == 2


def test_a_rationale_longer_than_the_limit_is_refused():
    with pytest.raises(ValidationError, match="at most 4000 characters"):
        form("x" * (RATIONALE_MAX_CHARS + 1))
    with pytest.raises(ValidationError, match="at most 10 items"):
        form("Seen alone", ["personal_data"] * 11)


def test_the_api_answers_422_naming_the_caution_then_saves_once_confirmed(client, moderation):  # noqa: F811
    moderator = moderation["moderator_id"]
    refused = post(client, moderation, moderator, moderated_grade="good", rationale=TYPED)
    assert refused.status_code == 422
    [problem] = refused.json()["errors"]
    assert (problem["loc"], problem["type"]) == (["body", "rationale"], "needs_confirmation")
    assert problem["ctx"] == {"confirm": PERSONAL_DATA}
    assert "Jane" not in refused.text
    kept = post(
        client,
        moderation,
        moderator,
        moderated_grade="good",
        rationale=TYPED,
        confirmed=[PERSONAL_DATA],
    )
    assert (kept.status_code, kept.json()["rationale"]) == (200, TYPED)
