"""The board's monthly figures on real PostgreSQL: audits submitted through the API (domain
grades and themes in JSON columns, instants with their time zone) and counted by UK month,
every month and team shown, small numbers hidden, each caller's audits only."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from services.audit.app import create_app
from services.audit.settings import AuditSettings
from shared.clock import FixedClock
from shared.migrations import upgrade
from tests.tokens import bearer

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DOMAINS = (
    "assessment",
    "planning",
    "visits",
    "voice_of_child",
    "management_oversight",
    "recording",
)


@pytest.fixture
def client(postgres_url: str) -> Iterator[TestClient]:
    settings = AuditSettings(
        kafka_bootstrap_servers="127.0.0.1:9",  # no broker: events wait in the outbox
        database_url=postgres_url,
        audit_programme_draw_day=0,
    )
    upgrade("audit", postgres_url)
    app = create_app(settings, FixedClock(NOW))
    yield TestClient(app)  # no lifespan: nothing connects to the broker
    app.state.runtime.engine.dispose()


def submit(client: TestClient, n: int, graded_at: str, grade: str, themes: list[str], **changes):
    body = {
        "case_id": f"CASE-PG-{n}",
        "auditor_id": "S0003",
        "team_id": "EH-NORTH",
        "practitioner_id": "S0006",
        "domain_grades": dict.fromkeys(DOMAINS, grade),
        "overall_grade": grade,
        "voice_of_child": {"evidenced": True},
        "themes": themes,
        "graded_at": graded_at,
        **changes,
    }
    answer = client.post("/audits", json=body, headers=bearer(body["auditor_id"]))
    assert answer.status_code == 201, answer.text


def test_monthly_figures_count_by_uk_month_on_postgresql(client):
    # 23:30 UTC on 30 September is 00:30 BST on 1 October: an October audit. 23:30 UTC on 31
    # October is still October (GMT). So October has three in EH-NORTH, November one elsewhere.
    submit(client, 1, "2026-09-30T23:30:00Z", "good", ["planning"])
    submit(client, 2, "2026-10-14T10:00:00Z", "good", ["planning", "visits"])
    submit(
        client,
        3,
        "2026-10-31T23:30:00Z",
        "inadequate",
        ["planning"],
        domain_grades={**dict.fromkeys(DOMAINS, "inadequate"), "visits": "good"},
    )
    submit(
        client,
        4,
        "2026-11-02T10:00:00Z",
        "requires_improvement",
        ["visits"],
        auditor_id="S0019",
        team_id="FS-SOUTH",
        practitioner_id="S0038",
    )
    params = {"from_month": "2026-09", "to_month": "2026-11", "by": "team"}
    answer = client.get("/stats/monthly", params=params, headers=bearer("S9001"))
    assert answer.status_code == 200, answer.text
    figures = answer.json()
    grades = {(g["month"], g["group"]): g for g in figures["grades"]}
    assert len(grades) == 3 * 15
    assert grades[("2026-09", "EH-NORTH")]["total"] == 0
    october = grades[("2026-10", "EH-NORTH")]
    assert october["total"] == 3
    assert october["counts"] == {
        "outstanding": 0,
        "good": None,  # 2, hidden below the threshold of 3
        "requires_improvement": 0,
        "inadequate": None,  # 1
    }
    assert grades[("2026-11", "FS-SOUTH")]["total"] is None  # 1, hidden
    visits = {
        (d["month"], d["group"]): d["counts"]["good"]
        for d in figures["domains"]
        if d["domain"] == "visits"
    }
    assert visits[("2026-10", "EH-NORTH")] == 3  # audit 3's visits domain was good
    themes = {(t["month"], t["group"], t["theme"]): t["count"] for t in figures["themes"]}
    assert themes[("2026-10", "EH-NORTH", "planning")] == 3
    assert themes[("2026-10", "EH-NORTH", "visits")] is None  # 1
    assert themes[("2026-11", "EH-NORTH", "planning")] == 0

    county = client.get(
        "/stats/monthly",
        params={"from_month": "2026-10", "to_month": "2026-11"},
        headers=bearer("S0003"),  # Head of Service, early help: not FS-SOUTH's audit
    ).json()
    assert [(g["month"], g["total"]) for g in county["grades"]] == [("2026-10", 3), ("2026-11", 0)]
    trend = {(t["month"], t["theme"]): (t["count"], t["previous"]) for t in county["themes"]}
    assert trend[("2026-10", "planning")] == (3, 0)
    assert trend[("2026-11", "planning")] == (0, 3)
    past = client.get("/stats/target", params={"month": "2026-10"}, headers=bearer("S9001"))
    assert (past.json()["done"], past.json()["working_days_left"]) == (3, 0)
