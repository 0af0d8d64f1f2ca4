"""The moderation list as a queue, a page at a time: the person's own open ones, then the other
open ones, then completed ones, each oldest request first."""

from datetime import UTC, datetime, timedelta

import pytest

from services.moderation.models import Moderation
from services.moderation.queries import ModerationFilter, list_moderations
from shared.auth import AccessRole, Caller
from shared.db import transaction
from shared.migrations import upgrade
from shared.paging import PageQuery

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ADMIN = Caller("S9001", frozenset({AccessRole.ADMIN}))


def row(number: int, moderator: str, status: str = "open") -> Moderation:
    return Moderation(
        id=f"MOD-{number}",
        audit_id=f"AUD-{number}",
        case_id=f"CASE-{number}",
        service_area="early_help",
        team_id="EH-NORTH",
        auditor_id="S0003",
        team_manager_id="S0005",
        moderator_id=moderator,
        reason="sampled",
        auditor_grade="good",
        audit_graded_at=START,
        requested_at=START + timedelta(hours=number),
        status=status,
        **(
            {"moderated_grade": "good", "grade_difference": 0, "moderated_at": START}
            if status == "completed"
            else {}
        ),
    )


def test_a_moderators_queue_pages_their_own_open_ones_first(both_engines):
    upgrade("moderation", str(both_engines.url))
    with transaction(both_engines) as session:
        session.add_all(
            [
                row(1, "S0002", "completed"),
                row(2, "S0018"),
                row(3, "S0002"),
                row(4, "S0018", "completed"),
                row(5, "S0002"),
                row(6, "S0018"),
            ]
        )

    def page(offset: int, first_for: str | None = "S0002") -> list[str]:
        wanted = ModerationFilter(first_for=first_for)
        found = list_moderations(both_engines, ADMIN, wanted, PageQuery(limit=2, offset=offset))
        return [m.id for m in found]

    assert page(0) + page(2) + page(4) == ["MOD-3", "MOD-5", "MOD-2", "MOD-6", "MOD-1", "MOD-4"]
    assert page(6) == []
    assert page(0, first_for=None) + page(2, first_for=None) == ["MOD-2", "MOD-3", "MOD-5", "MOD-6"]
