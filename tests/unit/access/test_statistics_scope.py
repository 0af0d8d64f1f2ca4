"""The audit service's statistics count the audits the caller may see, as its lists do: two
service areas, one audit each, read by people of each, by admins and by a machine caller."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from services.audit.app import create_app
from services.audit.models import Audit
from services.audit.settings import AuditSettings
from shared.clock import FixedClock
from shared.db import transaction
from shared.migrations import upgrade
from tests.tokens import bearer, service_bearer

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def audit(audit_id: str, service_area: str, team: str, grade: str, **people: str) -> Audit:
    return Audit(
        id=audit_id,
        case_id=f"CASE-{audit_id}",
        audit_kind="learning",
        service_area=service_area,
        team_id=team,
        area="north",
        overall_grade=grade,
        domain_grades={},
        voice_of_child_evidenced=True,
        could_be_better_if=[],
        themes=[],
        graded_at=datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
        **people,
    )


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    settings = AuditSettings(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path)
    upgrade("audit", settings.resolved_database_url)
    app = create_app(settings, FixedClock(NOW))
    with transaction(app.state.runtime.engine) as session:
        session.add(
            audit(
                "EH-1",
                "early_help",
                "EH-NORTH",
                "good",
                auditor_id="S0009",
                practitioner_id="S0006",
                team_manager_id="S0005",
            )
        )
        session.add(
            audit(
                "FS-1",
                "family_safeguarding",
                "FS-NORTH",
                "inadequate",
                auditor_id="S0005",
                practitioner_id="S0034",
                team_manager_id="S0033",
            )
        )
    yield TestClient(app)
    app.state.runtime.engine.dispose()


def counted(client: TestClient, headers: dict[str, str]) -> dict[str, int]:
    """Audits per service area in the grades statistics, as `headers`' caller reads them."""
    params = {"from_month": "2026-11", "to_month": "2026-11", "by": "service_area"}
    answer = client.get("/stats/grades", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return {bucket["group"]: bucket["total"] for bucket in answer.json()}


BOTH = {"early_help": 1, "family_safeguarding": 1}


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("S9001", BOTH),  # an admin
        ("S0003", {"early_help": 1}),  # Head of Service, early help
        ("S0031", {"family_safeguarding": 1}),  # Head of Service, family safeguarding
        ("S0002", {"family_safeguarding": 1}),  # assistant director of family safeguarding
        ("S0006", {"early_help": 1}),  # the practitioner of EH-1
        ("S0005", BOTH),  # team manager of EH-1's case, auditor of FS-1
        ("S0007", {}),  # another practitioner, named by neither
    ],
)
def test_grade_statistics_count_only_the_audits_the_caller_may_see(client, who, sees):
    assert counted(client, bearer(who)) == sees


def test_a_machine_caller_counts_every_audit(client):
    assert counted(client, service_bearer()) == BOTH


def test_the_targets_done_count_is_of_the_audits_the_caller_may_see(client):
    def done(headers: dict[str, str]) -> int:
        answer = client.get("/stats/target", headers=headers)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["done"])

    assert done(bearer("S9001")) == done(service_bearer()) == 2
    assert done(bearer("S0003")) == done(bearer("S0031")) == 1
    assert done(bearer("S0007")) == 0


def test_percentages_keep_their_meaning_within_the_callers_audits(client):
    params = {"from_month": "2026-11", "to_month": "2026-11"}
    [county] = client.get("/stats/grades", params=params, headers=bearer("S9001")).json()
    [early_help] = client.get("/stats/grades", params=params, headers=bearer("S0003")).json()
    assert (county["total"], county["percentages"]["good"]) == (2, 50.0)
    assert (early_help["total"], early_help["percentages"]["good"]) == (1, 100.0)
