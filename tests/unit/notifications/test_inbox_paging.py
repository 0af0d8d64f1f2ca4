"""A person's inbox comes a page at a page, newest first; the unread count covers every page."""

from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.models import Notification
from services.notifications.queries import inbox_of, unread_count
from shared.db import transaction
from shared.migrations import upgrade
from shared.paging import PageQuery

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def item(number: int, recipient: str = "S0003", channel: str = "inbox") -> Notification:
    at = START + timedelta(minutes=number)
    return Notification(
        id=f"N-{recipient}-{channel}-{number}",
        source_event_id=f"E-{number}",
        event_type="qa.audit.graded.v1",
        kind="information",
        recipient_id=recipient,
        channel=channel,
        case_id="CASE-000001",
        subject=f"Message {number}",
        body_text="",
        body_html="",
        link="https://qa.example/audits/A",
        status="delivered",
        event_time=at,
        created_at=at,
        read_at=at if number % 2 else None,  # odd ones read
    )


def test_pages_are_newest_first_and_unread_counts_every_page(both_engines):
    upgrade("notifications", str(both_engines.url))
    with transaction(both_engines) as session:
        session.add_all([item(n) for n in range(1, 8)])
        session.add_all([item(9, recipient="S0004"), item(10, channel="email")])
    first = inbox_of(both_engines, "S0003", PageQuery(limit=3, offset=0))
    rest = inbox_of(both_engines, "S0003", PageQuery(limit=3, offset=3))
    last = inbox_of(both_engines, "S0003", PageQuery(limit=3, offset=6))
    assert [n.subject for n in first + rest + last] == [f"Message {n}" for n in range(7, 0, -1)]
    assert unread_count(both_engines, "S0003") == 3  # 2, 4 and 6, wherever their page
