"""End-to-end: a month's audit programme from the draw to its last audit, through the APIs only.

The case management system tells the register about cases (v2 events); the QA lead draws the
month; each auditor saves a draft, the practitioner adds a reflection, the auditor submits; one
auditor declines and the case is reallocated; an assistant director exempts one case; the
programme's figures then count every step.
"""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from shared.calendar import UK, month_bounds
from shared.events import CaseOpenedV2, kafka_key, new_event, serialize
from shared.events.topics import CASE_EVENTS
from shared.organisation import load_organisation
from tests.conftest import USED
from tests.e2e.conftest import System, wait_for
from tests.e2e.test_system import DOMAINS, mail_to
from tests.support import CASE_MANAGEMENT_SOURCE

ORG = load_organisation()
QA_LEAD = next(member.id for member in ORG.staff if member.qa_lead)
TEAMS = ("EH-SOUTH", "AI-WEST", "CL-NORTH")  # one team in each of three service areas


def practitioner_of(team: str) -> str:
    return next(m.id for m in ORG.staff if m.team == team and m.role == "practitioner")


def case_opened(case: str, team: str, plan_type: str, closing_on: date | None = None):
    opened = datetime.now(UTC) - timedelta(days=90)
    return CaseOpenedV2(
        case_id=case,
        team_id=team,
        practitioner_id=practitioner_of(team),
        team_manager_id=ORG.teams_by_id[team].team_manager,
        plan_type=plan_type,
        opened_on=opened.date(),
        closing_on=closing_on,
        opened_at=opened,
    )


async def publish(bootstrap: str, events: list) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for data in events:
            event = new_event(data, source=CASE_MANAGEMENT_SOURCE)
            await producer.send(CASE_EVENTS, serialize(event), key=kafka_key(event))
        await producer.flush()
    finally:
        await producer.stop()


def case_events_processed(system: System) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(system.get("audit", "/metrics").text)
        for sample in family.samples
        if sample.name == "qa_events_consumed_total"
        and sample.labels.get("topic") == CASE_EVENTS
        and sample.labels.get("outcome") == "processed"
    )


def audit_form(allocation: dict, grade: str) -> dict:
    return {
        "case_id": allocation["case_id"],
        "auditor_id": allocation["auditor_id"],
        "team_id": allocation["team_id"],
        "practitioner_id": allocation["practitioner_id"],
        "domain_grades": dict.fromkeys(DOMAINS, grade),
        "overall_grade": grade,
        "voice_of_child": {"evidenced": True},
        "could_be_better_if": ["Record the plan's timescales"],
        "themes": ["planning"],
        "graded_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }


def test_a_month_from_the_draw_to_its_last_audit_counts_every_step(system: System):
    run = uuid.uuid4().hex[:6]
    plans = ("child_in_need", "child_protection", "care_leaver")
    eligible = {
        f"CASE-PRG-{run}-{team}-{n}": (team, plans[i])
        for i, team in enumerate(TEAMS)
        for n in (1, 2)
    }
    month_end = month_bounds(datetime.now(UK).date())[1]  # closing within the month
    closing = f"CASE-PRG-{run}-closing"
    audited = f"CASE-PRG-{run}-audited"
    events = [case_opened(case, team, plan) for case, (team, plan) in eligible.items()]
    events.append(case_opened(closing, TEAMS[0], "child_in_need", closing_on=month_end))
    events.append(case_opened(audited, TEAMS[0], "child_in_need"))
    before = case_events_processed(system)
    asyncio.run(publish(system.stack.bootstrap_servers, events))
    wait_for(lambda: case_events_processed(system) >= before + len(events), "the case register")

    # A case audited this year is not drawn again.
    form = audit_form(
        {"case_id": audited, "auditor_id": "S0003", "team_id": TEAMS[0], "practitioner_id": None},
        "good",
    )
    form.pop("practitioner_id")
    form["team_id"] = TEAMS[0]
    recent = system.post("audit", "/audits", form, as_="S0003")
    assert recent.status_code == 201, recent.text

    month = datetime.now(UK).strftime("%Y-%m")
    drawn = system.post(
        "audit",
        "/programmes",
        {"month": month, "size": 500, "minimum_per_team": 1, "seed": 20261201},
        as_=QA_LEAD,
    )
    assert drawn.status_code == 201, drawn.text
    programme = drawn.json()
    allocations = {a["case_id"]: a for a in programme["allocations"]}
    assert set(eligible) <= set(allocations), "every eligible case of ours is drawn"
    assert closing not in allocations
    assert audited not in allocations
    for allocation in allocations.values():
        team = ORG.teams_by_id[allocation["team_id"]]
        auditor = ORG.staff_by_id[allocation["auditor_id"]]
        assert auditor.can_audit
        assert auditor.team != team.id
        assert allocation["auditor_id"] not in {team.team_manager, allocation["team_manager_id"]}
        assert allocation["why_case"]
        assert allocation["why_auditor"]

    ours = [allocations[case] for case in sorted(eligible)]
    declined, exempted, *submitted = ours
    wait_for(
        lambda: mail_to(
            system, declined["auditor_id"], "[Action] Audit allocated", declined["case_id"]
        ),
        "the auditor's allocation email",
    )
    wait_for(
        lambda: mail_to(
            system, declined["practitioner_id"], "[For information] Case", declined["case_id"]
        ),
        "the practitioner's invitation",
    )

    answer = system.post(
        "audit",
        f"/allocations/{declined['id']}/decline",
        {"reason": "I supervised this worker last year"},
        as_=declined["auditor_id"],
    )
    assert answer.status_code == 200, answer.text
    reallocated = answer.json()["reallocated"]
    assert reallocated["auditor_id"] != declined["auditor_id"]
    submitted.append(reallocated)

    director = ORG.leads_of(exempted["service_area"]).assistant_director
    answer = system.post(
        "audit",
        f"/allocations/{exempted['id']}/exempt",
        {"reason": "The case is in care proceedings this month"},
        as_=director,
    )
    assert answer.status_code == 200, answer.text

    # Everything else the programme drew (cases other tests left open) is done too, so the
    # month ends with nothing outstanding.
    others = [a for case, a in allocations.items() if case not in eligible]
    for allocation in [*submitted, *others]:
        auditor, path = allocation["auditor_id"], f"/allocations/{allocation['id']}"
        draft = {"overall_grade": "good", "themes": ["planning"]}
        for _ in range(2):  # saved twice
            saved = system.put("audit", f"{path}/draft", draft, as_=auditor)
            assert saved.status_code == 200, saved.text
        assert saved.json()["status"] == "in_progress"
        reflection = system.post(
            "audit",
            f"{path}/reflections",
            {"text": "The plan was reviewed with the family last week"},
            as_=allocation["practitioner_id"],
        )
        assert reflection.status_code == 201, reflection.text
        body = audit_form(allocation, "good") | {"took_part": [allocation["team_manager_id"]]}
        done = system.post("audit", f"{path}/submit", body, as_=auditor)
        assert done.status_code == 201, done.text
        record = done.json()["allocation"]
        assert record["status"] == "submitted"
        assert {auditor, allocation["practitioner_id"], allocation["team_manager_id"]} <= set(
            record["participants"]
        )

    last = submitted[-1]
    wait_for(
        lambda: mail_to(
            system, last["practitioner_id"], "[For information] Audit of case", last["case_id"]
        ),
        "the practitioner told the outcome",
    )
    stats = system.get("audit", "/stats/programme", as_=QA_LEAD, month=month).json()
    expected = {
        "target": 500,
        "allocated": len(allocations) - 1,  # the exempted case is counted apart
        "submitted": len(allocations) - 1,
        "exempted": 1,
        "declined": 1,
        "late": 0,
        "in_progress": 0,
    }
    assert {key: stats[key] for key in expected} == expected, stats
    by_team = {row["team_id"]: row for row in stats["by_team"]}
    assert set(by_team) == set(ORG.teams_by_id), "every team is shown, with zeros"
    USED["programme"] = (
        f"programme e2e: month {month}, {programme['open_cases']} open cases, "
        f"{programme['eligible_cases']} eligible, {len(allocations)} drawn over "
        f"{sum(1 for t in programme['teams'] if t['quota'])} teams (seed {programme['seed']}); "
        f"{stats['submitted']} submitted, {stats['exempted']} exempted, "
        f"{stats['declined']} declined and reallocated, {stats['late']} late"
    )
