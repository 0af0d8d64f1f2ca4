"""The board's routes (/stats/monthly, /stats/target?month=, /stats/learning) on SQLite,
against months counted by hand: zeros shown, small numbers hidden below a service area, the
month before the span feeding the first month's theme trend, a past month's target, and each
caller's figures over the audits they may see."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from services.audit.app import create_app
from services.audit.models import Audit
from services.audit.month_counts import count_audits
from services.audit.settings import AuditSettings
from shared.access_trail import AccessRecord
from shared.clock import FixedClock
from shared.db import transaction
from shared.events.vocabulary import AuditDomain
from shared.migrations import upgrade
from tests.support import problem_document
from tests.tokens import bearer

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
EARLY_HELP = {"auditor_id": "S0013", "practitioner_id": "S0006", "team_manager_id": "S0005"}
FAMILY_SAFEGUARDING = {
    "auditor_id": "S0019",
    "practitioner_id": "S0034",
    "team_manager_id": "S0033",
}


def audit(audit_id: str, day: str, grade: str, themes=(), **changes) -> Audit:
    fields = {
        "id": audit_id,
        "case_id": f"CASE-{audit_id}",
        "audit_kind": "learning",
        "service_area": "early_help",
        "team_id": "EH-NORTH",
        "area": "north",
        "overall_grade": grade,
        "domain_grades": dict.fromkeys((d.value for d in AuditDomain), grade),
        "voice_of_child_evidenced": True,
        "could_be_better_if": [],
        "themes": list(themes),
        "graded_at": datetime.fromisoformat(day).replace(tzinfo=UTC),
        **EARLY_HELP,
    }
    return Audit.model_validate(fields | changes)


# August (before the span): A1. September: none. October: A2, A3, A4 (a re-audit) in EH-NORTH,
# A5 in FS-SOUTH. November: A6 in EH-NORTH.
def audits() -> list[Audit]:
    return [
        audit("A1", "2026-08-25T10:00", "good", ["planning"]),
        audit(
            "A2",
            "2026-10-05T10:00",
            "good",
            ["planning", "voice_of_child"],
            could_be_better_if=["the chronology were up to date"],
            domain_grades={
                **dict.fromkeys((d.value for d in AuditDomain), "good"),
                "planning": "inadequate",
            },
        ),
        audit("A3", "2026-10-12T10:00", "inadequate", ["planning"]),
        audit("A4", "2026-10-19T10:00", "good", audit_kind="reaudit", reaudit_of="A3"),
        audit(
            "A5",
            "2026-10-20T10:00",
            "requires_improvement",
            ["visits"],
            service_area="family_safeguarding",
            team_id="FS-SOUTH",
            area="south",
            **FAMILY_SAFEGUARDING,
        ),
        audit("A6", "2026-11-03T10:00", "outstanding", ["visits"]),
    ]


SPAN = {"from_month": "2026-09", "to_month": "2026-11"}


def app_with(tmp_path, **settings: object) -> TestClient:
    configured = AuditSettings(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path, **settings)
    upgrade("audit", configured.resolved_database_url)
    app = create_app(configured, FixedClock(NOW))
    with transaction(app.state.runtime.engine) as session:
        rows = audits()
        session.add_all(rows)
        count_audits(session, rows)  # as recording an audit does (services.audit.handlers)
    return TestClient(app)


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    client = app_with(tmp_path)
    yield client
    client.app.state.runtime.engine.dispose()  # type: ignore[attr-defined]


def monthly(client: TestClient, who: str, **params: str) -> dict:
    answer = client.get("/stats/monthly", params=SPAN | params, headers=bearer(who))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_every_month_of_the_span_is_there_with_zeros_and_grades_by_domain(client):
    figures = monthly(client, "S9001")
    assert {k: figures[k] for k in ("from_month", "to_month", "by", "threshold")} == {
        "from_month": "2026-09",
        "to_month": "2026-11",
        "by": "county",
        "threshold": 3,
    }
    assert [(g["month"], g["group"], g["total"]) for g in figures["grades"]] == [
        ("2026-09", "county", 0),
        ("2026-10", "county", 4),  # A2, A3, A4 (re-audits count, as in /stats/grades), A5
        ("2026-11", "county", 1),
    ]
    october = figures["grades"][1]
    assert october["counts"] == {
        "outstanding": 0,
        "good": 2,
        "requires_improvement": 1,
        "inadequate": 1,
    }
    assert october["percentages"]["good"] == 50.0
    assert figures["grades"][0]["percentages"] == dict.fromkeys(october["counts"], None)
    assert len(figures["domains"]) == 3 * len(AuditDomain)
    planning = next(
        d for d in figures["domains"] if d["domain"] == "planning" and d["month"] == "2026-10"
    )
    assert planning["counts"] == {
        "outstanding": 0,
        "good": 1,  # A4
        "requires_improvement": 1,  # A5
        "inadequate": 2,  # A2's planning domain, and A3
    }


def test_the_first_months_theme_trend_counts_the_month_before_the_span(client):
    themes = monthly(client, "S9001")["themes"]
    counts = {(t["month"], t["theme"]): (t["count"], t["previous"]) for t in themes}
    assert counts == {
        ("2026-09", "planning"): (0, 1),  # A1, in August, is the month before
        ("2026-09", "visits"): (0, 0),
        ("2026-09", "voice_of_child"): (0, 0),
        ("2026-10", "planning"): (2, 0),
        ("2026-10", "visits"): (1, 0),
        ("2026-10", "voice_of_child"): (1, 0),
        ("2026-11", "planning"): (0, 2),
        ("2026-11", "visits"): (1, 1),
        ("2026-11", "voice_of_child"): (0, 1),
    }
    assert all(t["group"] == "county" and not t["suppressed"] for t in themes)


def test_teams_with_no_audits_show_and_small_numbers_are_hidden_below_a_service_area(client):
    figures = monthly(client, "S9001", by="team")
    october = {g["group"]: g for g in figures["grades"] if g["month"] == "2026-10"}
    assert len(figures["grades"]) == 3 * 15
    assert len(october) == 15
    north = october["EH-NORTH"]
    assert north["total"] == 3  # A2, A3, A4
    assert north["counts"] == {
        "outstanding": 0,
        "good": None,  # 2 audits: under the threshold of 3
        "requires_improvement": 0,
        "inadequate": None,  # 1
    }
    assert north["suppressed"] is True
    assert (october["FS-SOUTH"]["total"], october["FS-SOUTH"]["suppressed"]) == (None, True)
    assert (october["CL-WEST"]["total"], october["CL-WEST"]["suppressed"]) == (0, False)
    themes = {
        (t["group"], t["theme"]): t["count"] for t in figures["themes"] if t["month"] == "2026-10"
    }
    assert themes[("EH-NORTH", "planning")] is None  # A2 and A3
    assert themes[("CL-WEST", "planning")] == 0
    areas = monthly(client, "S9001", by="service_area")
    early_help = next(
        g for g in areas["grades"] if (g["month"], g["group"]) == ("2026-10", "early_help")
    )
    assert early_help["counts"]["inadequate"] == 1  # a service area is shown whole
    assert {g["group"] for g in areas["grades"]} == {
        "early_help",
        "assessment_intervention",
        "family_safeguarding",
        "children_we_care_for",
        "care_leavers",
    }


def test_the_threshold_is_a_setting(tmp_path):
    client = app_with(tmp_path, small_number_threshold=1)
    try:
        figures = monthly(client, "S9001", by="team")
    finally:
        client.app.state.runtime.engine.dispose()  # type: ignore[attr-defined]
    north = next(
        g for g in figures["grades"] if (g["month"], g["group"]) == ("2026-10", "EH-NORTH")
    )
    assert figures["threshold"] == 1
    assert (north["counts"]["good"], north["counts"]["inadequate"], north["suppressed"]) == (
        2,
        1,
        False,
    )


@pytest.mark.parametrize(
    ("who", "october"),
    [
        ("S9001", 4),  # an admin
        ("S0004", 4),  # the QA lead reads every audit
        ("S0003", 3),  # Head of Service, early help: A2, A3, A4
        ("S0031", 1),  # Head of Service, family safeguarding: A5
        ("S0007", 0),  # a practitioner no audit names: zeros, every month still there
    ],
)
def test_each_caller_counts_the_audits_they_may_see(client, who, october):
    grades = monthly(client, who)["grades"]
    assert [g["month"] for g in grades] == ["2026-09", "2026-10", "2026-11"]
    assert grades[1]["total"] == october


def test_a_span_that_ends_before_it_starts_or_is_too_long_is_refused(client):
    backwards = {"from_month": "2026-11", "to_month": "2026-10"}
    answer = client.get("/stats/monthly", params=backwards, headers=bearer("S9001"))
    assert answer.status_code == 422
    too_long = {"from_month": "2020-01", "to_month": "2026-11"}
    answer = client.get("/stats/monthly", params=too_long, headers=bearer("S9001"))
    assert (answer.status_code, answer.json()) == (
        422,
        problem_document(
            422,
            "to_month: is more than 36 months after from_month",
            [
                {
                    "loc": ["query", "to_month"],
                    "field": "to_month",
                    "msg": "is more than 36 months after from_month",
                    "type": "audit_rule",
                }
            ],
        ),
    )


def target(client: TestClient, who: str, **params: str) -> dict:
    answer = client.get("/stats/target", params=params, headers=bearer(who))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_past_months_target_has_no_working_days_left(client):
    # October 2026: 22 working days (Thursday 1st to Friday 30th, no bank holiday); learning
    # audits A2, A3 and A5 (A4 is a re-audit, which the target does not count).
    assert target(client, "S9001", month="2026-10") == {
        "month": "2026-10",
        "target": 50,
        "done": 3,
        "remaining": 47,
        "working_days_in_month": 22,
        "working_days_left": 0,
        "expected_by_now": 50,
        "on_pace": False,
        "needed_per_working_day": 47.0,
    }
    assert target(client, "S0031", month="2026-10")["done"] == 1


def test_the_target_is_this_months_unless_asked_and_a_month_to_come_has_all_its_days(client):
    this_month = target(client, "S9001")
    assert (this_month["month"], this_month["done"]) == ("2026-11", 1)
    assert this_month["working_days_left"] == 7  # Friday 20th (today), 23rd to 27th, 30th
    december = target(client, "S9001", month="2026-12")
    assert december["working_days_left"] == december["working_days_in_month"] > 0
    assert (december["done"], december["expected_by_now"], december["on_pace"]) == (0, 0, True)


def test_a_months_learning_is_the_learning_audits_the_caller_may_see(client):
    answer = client.get("/stats/learning", params={"month": "2026-10"}, headers=bearer("S9001"))
    assert answer.status_code == 200, answer.text
    learning = answer.json()
    assert [item["audit_id"] for item in learning] == ["A2", "A3", "A5"]
    assert learning[0] == {
        "audit_id": "A2",
        "case_id": "CASE-A2",
        "service_area": "early_help",
        "team_id": "EH-NORTH",
        "overall_grade": "good",
        "themes": ["planning", "voice_of_child"],
        "could_be_better_if": ["the chronology were up to date"],
    }
    mine = client.get("/stats/learning", params={"month": "2026-10"}, headers=bearer("S0003"))
    assert [item["audit_id"] for item in mine.json()] == ["A2", "A3"]
    lead = client.get("/stats/learning", params={"month": "2026-10"}, headers=bearer("S0004"))
    assert [item["audit_id"] for item in lead.json()] == ["A2", "A3", "A5"]
    nobody = client.get("/stats/learning", params={"month": "2026-10"}, headers=bearer("S0007"))
    assert nobody.json() == []
    november = client.get("/stats/learning", headers=bearer("S9001")).json()
    assert [item["audit_id"] for item in november] == ["A6"]


def test_reading_a_months_learning_is_trailed_case_by_case(client):
    client.get("/stats/learning", params={"month": "2026-10"}, headers=bearer("S0003"))
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        rows = session.exec(
            select(AccessRecord).where(col(AccessRecord.action) == "GET /stats/learning")
        ).all()
    assert {(row.who, row.case_id, row.outcome) for row in rows} == {
        ("S0003", "CASE-A2", 200),
        ("S0003", "CASE-A3", 200),
    }
