"""Consistency statistics count the moderations of the audits the caller may see: two service
areas, one completed moderation each, read by people of each, admins, the QA lead and a machine
caller; every month of the span is there for the areas the caller leads, zero when none."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from services.moderation.app import create_app
from services.moderation.models import Moderation
from services.moderation.settings import ModerationSettings
from shared.clock import FixedClock
from shared.db import transaction
from shared.migrations import upgrade
from tests.tokens import bearer, service_bearer

NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def completed(audit_id: str, service_area: str, grades: tuple[str, str], **people: str):
    at = datetime(2026, 11, 12, 10, 0, tzinfo=UTC)
    return Moderation(
        id=f"MOD-{audit_id}",
        audit_id=audit_id,
        case_id=f"CASE-{audit_id}",
        service_area=service_area,
        team_id="T",
        reason="inadequate",
        auditor_grade=grades[0],
        audit_graded_at=at,
        status="completed",
        requested_at=at,
        moderated_grade=grades[1],
        grade_difference=0 if grades[0] == grades[1] else 1,
        rationale=None if grades[0] == grades[1] else "Evidence of drift",
        moderated_at=at,
        **people,
    )


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    settings = ModerationSettings(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path)
    upgrade("moderation", settings.resolved_database_url)
    app = create_app(settings, FixedClock(NOW))
    with transaction(app.state.runtime.engine) as session:
        session.add(
            completed(
                "EH-1",
                "early_help",
                ("inadequate", "inadequate"),
                auditor_id="S0009",
                practitioner_id="S0006",
                team_manager_id="S0005",
                moderator_id="S0018",
            )
        )
        session.add(
            completed(
                "FS-1",
                "family_safeguarding",
                ("inadequate", "requires_improvement"),
                auditor_id="S0037",
                practitioner_id="S0034",
                team_manager_id="S0033",
                moderator_id="S0032",
            )
        )
    yield TestClient(app)
    app.state.runtime.engine.dispose()


def areas(client: TestClient, headers: dict[str, str]) -> dict[str, tuple[int, float]]:
    params = {"from_month": "2026-11", "to_month": "2026-11"}
    answer = client.get("/stats/consistency", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return {
        row["service_area"]: (row["moderated"], row["agreement_rate"])
        for row in answer.json()
        if row["moderated"]
    }


BOTH = {"early_help": (1, 1.0), "family_safeguarding": (1, 0.0)}


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("S9001", BOTH),  # an admin
        ("S0003", {"early_help": (1, 1.0)}),  # Head of Service, early help
        ("S0031", {"family_safeguarding": (1, 0.0)}),  # Head of Service, family safeguarding
        ("S0018", {"early_help": (1, 1.0)}),  # EH-1's moderator
        ("S0004", BOTH),  # the QA lead reads every moderation
        ("S0006", {"early_help": (1, 1.0)}),  # EH-1's practitioner
        ("S0007", {}),  # a practitioner neither names
    ],
)
def test_consistency_counts_only_the_moderations_of_audits_the_caller_may_see(client, who, sees):
    assert areas(client, bearer(who)) == sees


def test_a_machine_caller_counts_every_moderation(client):
    assert areas(client, service_bearer()) == BOTH


def test_months_and_areas_with_no_moderations_are_there_with_zeros(client):
    params = {"from_month": "2026-10", "to_month": "2026-11"}

    def rows(who: str) -> list[tuple[str, str, int]]:
        answer = client.get("/stats/consistency", params=params, headers=bearer(who))
        assert answer.status_code == 200, answer.text
        return [(r["month"], r["service_area"], r["moderated"]) for r in answer.json()]

    every = rows("S9001")
    assert len(every) == 2 * 5  # October and November, each of the five service areas
    assert [row for row in every if row[0] == "2026-10"] == [
        ("2026-10", area, 0)
        for area in sorted(
            [
                "early_help",
                "assessment_intervention",
                "family_safeguarding",
                "children_we_care_for",
                "care_leavers",
            ]
        )
    ]
    assert ("2026-11", "family_safeguarding", 1) in every
    # The assistant director of early help and of assessment and intervention: their two areas.
    assert rows("S0001") == [
        ("2026-10", "assessment_intervention", 0),
        ("2026-10", "early_help", 0),
        ("2026-11", "assessment_intervention", 0),
        ("2026-11", "early_help", 1),
    ]
    # A practitioner leads none: the months of the areas they have figures in.
    assert rows("S0006") == [("2026-10", "early_help", 0), ("2026-11", "early_help", 1)]
    assert rows("S0007") == []
    empty = next(
        r
        for r in client.get("/stats/consistency", params=params, headers=bearer("S9001")).json()
        if r["moderated"] == 0
    )
    assert (empty["agreement_rate"], empty["weighted_kappa"]) == (0.0, None)
