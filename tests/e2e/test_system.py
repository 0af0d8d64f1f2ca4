"""End-to-end: the four services as separate processes, through their APIs and topics only."""

import uuid
from datetime import UTC, datetime, timedelta

from shared.calendar import UK, WorkingDayCalendar
from shared.organisation import load_organisation
from tests.conftest import USED
from tests.e2e.conftest import System, wait_for

ORG = load_organisation()
CALENDAR = WorkingDayCalendar()
AUDITOR, TEAM_MANAGER, PRACTITIONER = "S0003", "S0005", "S0006"  # Early Help North
HEAD = ORG.leads_of("early_help").head_of_service
ASSISTANT_DIRECTOR = ORG.leads_of("early_help").assistant_director
DOMAINS = (
    "assessment",
    "planning",
    "visits",
    "voice_of_child",
    "management_oversight",
    "recording",
)


def case_ref() -> str:
    return f"CASE-E2E-{uuid.uuid4().hex[:8]}"


def audit(case: str, grade: str, **changes: object) -> dict:
    body = {
        "case_id": case,
        "auditor_id": AUDITOR,
        "team_id": "EH-NORTH",
        "practitioner_id": PRACTITIONER,
        "domain_grades": dict.fromkeys(DOMAINS, grade),
        "overall_grade": grade,
        "voice_of_child": {"evidenced": True},
        "could_be_better_if": ["Record the plan's timescales"],
        "themes": ["planning"],
        "graded_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }
    body.update(changes)
    return body


def submit(system: System, body: dict) -> dict:
    response = system.post(
        "audit", "/audits", body, as_=body["auditor_id"], **{"Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 201, response.text
    return response.json()


def moderation_of(system: System, audit_id: str) -> dict:
    return wait_for(
        lambda: next(
            (
                m
                for m in system.get("moderation", "/moderations", audit_id=audit_id).json()
                if m["audit_id"] == audit_id
            ),
            None,
        ),
        f"moderation of {audit_id}",
    )


def followup_of(system: System, case: str, status: str | None = None) -> dict:
    def found():
        params = {"status": status, "limit": 500} if status else {"limit": 500}
        return next(
            (
                f
                for f in system.get("scheduler", "/followups", **params).json()
                if f["case_id"] == case
            ),
            None,
        )

    return wait_for(found, f"{status or 'a'} follow-up of {case}")


def mail_to(system: System, person: str, subject_start: str, case: str) -> list:
    address = str(ORG.staff_by_id[person].email)
    return [
        m
        for m in system.emails()
        if m["To"] == address
        and m["Subject"].strip().startswith(subject_start)
        and case in m["Subject"]
    ]


def moderate(system: System, moderation: dict, grade: str) -> None:
    response = system.post(
        "moderation",
        f"/moderations/{moderation['id']}",
        {
            "moderator_id": moderation["moderator_id"],
            "moderated_grade": grade,
            "rationale": "Evidence reviewed with the auditor",
            "request_id": str(uuid.uuid4()),
        },
        as_=moderation["moderator_id"],
    )
    assert response.status_code == 200, response.text


def test_an_inadequate_audit_is_followed_up_until_the_reaudit_shows_improvement(system):
    case = case_ref()
    graded = submit(system, audit(case, "inadequate"))
    moderation = moderation_of(system, graded["id"])
    assert moderation["reason"] == "inadequate"
    assert moderation["moderator_id"] not in {AUDITOR, TEAM_MANAGER}

    followup = followup_of(system, case, "open")
    grading_day = datetime.fromisoformat(graded["graded_at"]).astimezone(UK).date()
    assert followup["due_on"] == CALENDAR.add_working_days(grading_day, 5).isoformat()
    assert (followup["step"], followup["owner_id"]) == ("reflective_conversation", HEAD)

    wait_for(
        lambda: mail_to(system, HEAD, "[Action] Reflective conversation due", case),
        "the Head of Service's email",
    )
    inbox = system.get("notifications", f"/inbox/{HEAD}", as_=HEAD).json()
    assert any(item["case_id"] == case for item in inbox["items"])

    today = datetime.now(UTC).astimezone(UK).date()
    held = system.post(
        "scheduler",
        f"/followups/{followup['id']}/reflective-conversation",
        {
            "held_on": today.isoformat(),
            "recorded_by": HEAD,
            "attendees": [HEAD, TEAM_MANAGER],
            "agreed_actions": ["Review the plan with the family"],
        },
        as_=HEAD,
    )
    assert held.status_code == 200, held.text
    assert held.json()["due_on"] == CALENDAR.roll_forward(today + timedelta(days=42)).isoformat()
    assert held.json()["owner_id"] == AUDITOR
    # The agreed action is its owner's to do (the case's team manager for a plain string), and
    # the follow-up closes as improved only once no action is left open.
    [action] = held.json()["actions"]
    assert action["owner_id"] == TEAM_MANAGER
    done = system.post(
        "scheduler",
        f"/actions/{action['id']}",
        {"changed_by": TEAM_MANAGER, "status": "done", "request_id": str(uuid.uuid4())},
        as_=TEAM_MANAGER,
    )
    assert done.status_code == 200, done.text
    wait_for(
        lambda: mail_to(system, TEAM_MANAGER, "[Action]", case), "the action's email to its owner"
    )

    # Accepted once the audit service has heard from the scheduler that the re-audit is due
    # and whose it is: moments after the conversation. Sent again with the same key till then.
    reaudit = audit(case, "requires_improvement", audit_kind="reaudit", reaudit_of=graded["id"])
    key = str(uuid.uuid4())

    def accepted() -> dict | None:
        answer = system.post("audit", "/audits", reaudit, as_=AUDITOR, **{"Idempotency-Key": key})
        return answer.json() if answer.status_code == 201 else None

    reaudited = wait_for(accepted, "the re-audit to be accepted")
    assert isinstance(reaudited, dict)
    # The re-auditor records that the action made a difference.
    verified = system.post(
        "scheduler",
        f"/actions/{action['id']}/verification",
        {
            "verified_by": AUDITOR,
            "outcome": "verified",
            "reaudit_id": reaudited["id"],
            "request_id": str(uuid.uuid4()),
        },
        as_=AUDITOR,
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"
    done = wait_for(
        lambda: (
            (f := system.get("scheduler", f"/followups/{followup['id']}").json())["status"]
            == "completed"
            and f
        ),
        "the follow-up to complete",
    )
    assert done["outcome"] == "improved"
    wait_for(
        lambda: mail_to(system, HEAD, "[For information] Follow-up for case", case),
        "the completion email",
    )
    # What the journey told whom, for the record (printed at the end of the run).
    staff_of = {str(person.email): person.id for person in ORG.staff_by_id.values()}
    told = sorted(
        (m["Subject"].strip().split(" - case")[0].split(" for case")[0], staff_of[m["To"]])
        for m in system.emails()
        if case in m["Subject"]
    )
    USED["journey"] = f"e2e journey of one Inadequate audit to a verified action: {len(told)} " + (
        "emails: " + "; ".join(f"{subject} -> {to}" for subject, to in told)
    )


def test_moderation_overturning_an_inadequate_grade_cancels_the_followup_and_says_so(system):
    case = case_ref()
    graded = submit(system, audit(case, "inadequate"))
    followup_of(system, case, "open")
    moderate(system, moderation_of(system, graded["id"]), "requires_improvement")
    cancelled = followup_of(system, case, "cancelled")
    assert cancelled["cancelled_reason"] == "Moderation regraded the audit as requires improvement"
    for person in (HEAD, TEAM_MANAGER):
        wait_for(
            lambda person=person: mail_to(
                system, person, "[For information] Follow-up for case", case
            ),
            f"{person}'s email",
        )
    wait_for(
        lambda: mail_to(system, AUDITOR, "[For information] Moderation regraded", case),
        "the auditor's email about the disagreement",
    )


def test_a_moderator_downgrading_a_good_audit_to_inadequate_starts_a_followup(system):
    area_rate = system.put(
        "moderation",
        "/sampling/early_help",
        {"rate": 1.0, "changed_by": ASSISTANT_DIRECTOR},
        as_=ASSISTANT_DIRECTOR,
    )
    assert area_rate.status_code == 200
    case = case_ref()
    graded = submit(system, audit(case, "good"))
    moderation = moderation_of(system, graded["id"])
    assert moderation["reason"] == "sampled"
    moderate(system, moderation, "inadequate")
    followup = followup_of(system, case, "open")
    assert (followup["audit_id"], followup["found_by"]) == (graded["id"], "moderation")
