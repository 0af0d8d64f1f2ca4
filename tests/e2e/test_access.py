"""Access control against the running services: the role x route matrix, scope, the trail."""

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from services.catalogue import SERVICES
from shared.auth import AccessRole, caller_from_claims
from shared.organisation import Role
from tests.conftest import USED
from tests.e2e.conftest import System, wait_for
from tests.e2e.test_system import (
    AUDITOR,
    HEAD,
    ORG,
    PRACTITIONER,
    TEAM_MANAGER,
    audit,
    case_ref,
    followup_of,
    moderate,
    moderation_of,
    submit,
)
from tests.tokens import bearer, service_bearer

PERMISSIONS = {service.name: service.route_permissions for service in SERVICES}

ADMIN = "S9001"


def representatives() -> dict[str, frozenset[AccessRole]]:
    """One person for each distinct set of roles in the organisation, and a machine caller."""
    people: dict[frozenset[AccessRole], str] = {}
    for member in ORG.staff:
        people.setdefault(caller_from_claims({"sub": member.id}, ORG).roles, member.id)
    return {person: roles for roles, person in people.items()} | {
        "e2e-machine": frozenset({AccessRole.SERVICE})
    }


def call(system: System, service: str, route: str, caller: str | None) -> httpx.Response:
    method, template = route.split(" ")
    path = template.replace("{staff_id}", caller or "S0001").replace("{service_area}", "early_help")
    path = re.sub(r"\{[^}]+\}", "no-such-record", path)
    if caller is None:
        headers = {}
    elif caller == "e2e-machine":
        headers = service_bearer(caller)
    else:
        headers = bearer(caller)
    body = {} if method in ("POST", "PUT") else None
    return httpx.request(
        method, f"{system.url(service)}{path}", json=body, headers=headers, timeout=10
    )


def test_every_role_is_allowed_exactly_the_routes_its_permission_names(system):
    callers = representatives()
    wrong = []
    checked = 0
    for service, routes in PERMISSIONS.items():
        for route, allowed in routes.items():
            anonymous = call(system, service, route, None)
            if anonymous.status_code != 401:
                wrong.append((service, route, "no token", anonymous.status_code))
            for person, roles in callers.items():
                status = call(system, service, route, person).status_code
                expected_allowed = not roles.isdisjoint(allowed)
                # Allowed callers get past the guard: any answer but 401/403 (often 404 or 422,
                # since the matrix asks about records that do not exist with empty bodies).
                if expected_allowed == (status in (401, 403)) or (
                    not expected_allowed and status != 403
                ):
                    wrong.append((service, route, person, status))
                checked += 1
    USED["access matrix"] = (
        f"access matrix: {checked} role x route checks over {len(callers)} kinds of caller "
        f"on {sum(map(len, PERMISSIONS.values()))} routes, {len(wrong)} wrong"
    )
    assert wrong == []


def test_scope_limits_people_to_their_own_area_assignments_and_inbox(system):
    case = case_ref()
    graded = submit(system, audit(case, "inadequate"))
    followup = followup_of(system, case, "open")
    other_head = ORG.leads_of("children_we_care_for").head_of_service
    assert system.get("scheduler", f"/followups/{followup['id']}", as_=HEAD).status_code == 200
    refused = system.get("scheduler", f"/followups/{followup['id']}", as_=other_head)
    assert refused.status_code == 403
    assert "not one of your service areas" in refused.json()["detail"]
    recorded = system.post(
        "scheduler",
        f"/followups/{followup['id']}/reflective-conversation",
        {
            "held_on": datetime.now(UTC).date().isoformat(),
            "recorded_by": other_head,
            "attendees": [other_head],
            "agreed_actions": ["Not theirs to record"],
        },
        as_=other_head,
    )
    assert recorded.status_code == 403
    assert "not one of your service areas" in recorded.json()["detail"]
    listed = system.get("scheduler", "/followups", as_=other_head).json()
    assert all(f["service_area"] == "children_we_care_for" for f in listed)
    assert case not in {f["case_id"] for f in listed}

    moderation = moderation_of(system, graded["id"])
    someone_else = next(
        m.id for m in ORG.moderators() if m.id not in (moderation["moderator_id"], AUDITOR)
    )
    taken = system.post(
        "moderation",
        f"/moderations/{moderation['id']}",
        {"moderator_id": someone_else, "moderated_grade": "good", "request_id": "r-0000001"},
        as_=someone_else,
    )
    assert taken.status_code == 403
    assert "assigned" in taken.json()["detail"]

    assert system.get("notifications", f"/inbox/{HEAD}", as_=other_head).status_code == 403
    assert system.get("notifications", f"/inbox/{other_head}", as_=other_head).status_code == 200


def test_reads_and_changes_of_a_case_are_in_the_trail_for_admins_only(system):
    case = case_ref()
    submit(system, audit(case, "inadequate"))
    followup = followup_of(system, case, "open")
    system.get("scheduler", f"/followups/{followup['id']}", as_=HEAD)

    audit_trail = system.get("audit", "/access-trail", as_=ADMIN, case_id=case).json()
    assert {(r["who"], r["action"], r["outcome"]) for r in audit_trail} >= {
        (AUDITOR, "POST /audits", 201)
    }
    scheduler_trail = system.get("scheduler", "/access-trail", as_=ADMIN, case_id=case).json()
    assert (HEAD, "GET /followups/{followup_id}", 200) in {
        (r["who"], r["action"], r["outcome"]) for r in scheduler_trail
    }
    assert system.get("audit", "/access-trail", as_=HEAD, case_id=case).status_code == 403
    deleted = httpx.delete(f"{system.url('audit')}/access-trail", headers=bearer(ADMIN), timeout=10)
    assert deleted.status_code == 405


RECORDS = {"audits": "audit", "moderations": "moderation", "followups": "scheduler"}
"""The service behind each kind of record a notification links to (the same path)."""


def links_about(system: System, person: str, case: str) -> set[str]:
    inbox = system.get("notifications", f"/inbox/{person}", as_=person).json()["items"]
    return {urlsplit(item["link"]).path for item in inbox if item["case_id"] == case}


def opened(system: System, path: str, person: str) -> int:
    return system.get(RECORDS[path.split("/")[1]], path, as_=person).status_code


def test_every_notification_about_a_case_opens_for_its_recipient_and_for_no_outsider(system):
    case = case_ref()
    graded = submit(system, audit(case, "inadequate"))
    followup = followup_of(system, case, "open")
    moderation = moderation_of(system, graded["id"])
    moderator = moderation["moderator_id"]
    moderate(system, moderation, "requires_improvement")  # disagrees, and cancels the follow-up
    followup_of(system, case, "cancelled")
    record = {
        "audit": f"/audits/{graded['id']}",
        "moderation": f"/moderations/{moderation['id']}",
        "followup": f"/followups/{followup['id']}",
    }
    told = {  # who is told what in this story (services/notifications/routing.py)
        PRACTITIONER: {record["audit"]},  # InadequateFound
        TEAM_MANAGER: {record["audit"], record["moderation"], record["followup"]},
        moderator: {record["moderation"]},  # ModerationRequested
        HEAD: {record["followup"], record["moderation"]},  # scheduled, cancelled; its auditor
    }
    assert AUDITOR == HEAD
    links = {
        person: wait_for(
            lambda person=person, wanted=wanted: (
                found if (found := links_about(system, person, case)) >= wanted else None
            ),
            f"{person}'s notifications about {case}",
        )
        for person, wanted in told.items()
    }
    answers = {
        (person, path): opened(system, path, person) for person in links for path in links[person]
    }
    assert set(answers.values()) == {200}, answers
    # The moderator may see the audit and its follow-up too, once those services have learnt
    # who moderates it (moderation.requested).
    for path in (record["audit"], record["followup"]):
        wait_for(lambda path=path: opened(system, path, moderator) == 200, f"{moderator}: {path}")
    outsider = next(
        m.id
        for m in ORG.staff
        if m.role is Role.PRACTITIONER and m.team and m.team.startswith("CL-")
    )
    assert {path: opened(system, path, outsider) for path in record.values()} == dict.fromkeys(
        record.values(), 403
    )
    assert graded["id"] not in {
        a["id"] for a in system.get("audit", "/audits", as_=outsider).json()
    }


def test_a_machine_caller_the_deployment_does_not_list_is_refused_on_every_route(system):
    refused = {}
    for service, routes in PERMISSIONS.items():
        for route in routes:
            method, template = route.split(" ")
            path = re.sub(r"\{[^}]+\}", "no-such-record", template)
            answer = httpx.request(
                method,
                f"{system.url(service)}{path}",
                json={} if method in ("POST", "PUT") else None,
                headers=service_bearer("not-on-the-list"),
                timeout=10,
            )
            refused[(service, route)] = answer.status_code
    assert set(refused.values()) == {403}, refused


def test_hostile_input_answers_422_on_the_running_services(system):
    # PostgreSQL refuses NUL in text, and NaN cannot be written back as JSON: these were 500s.
    answers = {
        "id": system.get("audit", "/audits/AUD-1%00", as_=ADMIN),
        "filter": system.get("moderation", "/moderations", as_=ADMIN, audit_id="AUD\x001"),
        "text": system.post(
            "moderation",
            "/moderations/MOD-1",
            {"moderator_id": ADMIN, "moderated_grade": "good", "rationale": "a\x00b"},
            as_=ADMIN,
        ),
        "number": httpx.put(
            f"{system.url('moderation')}/sampling/early_help",
            content='{"rate": NaN, "changed_by": "S9001"}',
            headers={**bearer(ADMIN), "content-type": "application/json"},
            timeout=10,
        ),
    }
    where = {name: (a.status_code, a.json()["errors"][0]["loc"]) for name, a in answers.items()}
    assert where == {
        "id": (422, ["path", "audit_id"]),
        "filter": (422, ["query", "audit_id"]),
        "text": (422, ["body", "rationale"]),
        "number": (422, ["body", "rate"]),
    }


def test_answers_of_the_running_services_carry_the_security_headers(system):
    for service in PERMISSIONS:
        answer = system.get(service, "/access-trail", as_=ADMIN)
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
