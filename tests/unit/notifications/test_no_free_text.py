"""Every channel (email, inbox, webhook) carries the case reference, what happened and a link:
never an event's free text, which may hold what a child's record holds."""

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from services.notifications.api import InboxItem
from services.notifications.app import event_handlers
from services.notifications.context import NotifyContext
from services.notifications.messages import compose, render
from services.notifications.models import Notification
from services.notifications.routing import ROUTED, Kind
from shared.clock import FixedClock
from shared.events import EventData, ModerationDisagreed, new_event
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from tests.factories import audit_graded, every_event_data

TYPED = "Jane Smith, born 1 May 2015, lives at 12 Acacia Road"
EVENTS = {type(data): data for data in every_event_data()}


def with_free_text(data: EventData) -> EventData:
    """The event with TYPED in every field that takes free text (a plain, unpatterned str)."""
    fields = data.model_dump()
    for name, info in type(data).model_fields.items():
        unpatterned = not any(getattr(m, "pattern", None) for m in info.metadata)
        if info.annotation in (str, str | None) and unpatterned:
            fields[name] = TYPED
    return type(data).model_validate(fields)


@pytest.mark.parametrize("told_as", Kind)
@pytest.mark.parametrize("kind", ROUTED, ids=lambda k: k.__name__)
def test_no_message_quotes_an_events_free_text(kind, told_as):
    rendered = render(compose(with_free_text(EVENTS[kind]), told_as), "https://qa.example")
    for part in (rendered.subject, rendered.text, rendered.html):
        assert "Jane" not in part
        assert "Acacia" not in part


def test_a_disagreement_published_with_its_rationale_is_told_without_it():
    published_before = {**EVENTS[ModerationDisagreed].model_dump(), "rationale": TYPED}
    data = ModerationDisagreed.model_validate(published_before)
    rendered = render(compose(data, Kind.INFORMATION), "https://qa.example")
    assert "Jane" not in rendered.text + rendered.html
    assert "The moderator's rationale is on the moderation's page." in rendered.text
    assert rendered.text.rstrip().endswith("Please do not reply with case details.")


def test_the_inbox_and_the_stored_email_and_webhook_hold_no_rationale(sqlite_engine):
    upgrade("notifications", str(sqlite_engine.url))
    org = load_organisation()
    clock = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    handlers = event_handlers(NotifyContext(org, clock, "https://qa.example", {"EH-NORTH": "h"}))
    graded = audit_graded(
        audit_id="AUD-1",
        team_id="EH-NORTH",
        service_area="early_help",
        practitioner_id="S0006",
        team_manager_id="S0005",
        auditor_id="S0003",
    )
    disagreed = ModerationDisagreed.model_validate(
        {**EVENTS[ModerationDisagreed].model_dump(), "rationale": TYPED}
    )
    for data in (graded, disagreed):
        process_once(
            sqlite_engine, "notifications", new_event(data, source="/t"), handlers[type(data)]
        )
    with Session(sqlite_engine) as session:
        rows = session.exec(select(Notification)).all()
    assert {row.channel for row in rows} == {"inbox", "email", "webhook"}
    for row in rows:
        shown = InboxItem.of(row).model_dump_json()
        assert "Jane" not in row.body_text + row.body_html + shown
