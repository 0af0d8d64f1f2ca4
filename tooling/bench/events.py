"""Valid events of the kinds each consuming service trusts, about the demo organisation's
Early Help North (real team, staff and leads), one new case per event so none waits on another.
"""

import uuid
from datetime import UTC, date, datetime, timedelta

from shared.events import AuditGraded, EventData, FollowUpScheduled, InadequateFound
from shared.events.envelope import kafka_key, new_event, serialize
from shared.events.topics import service_source
from shared.organisation import load_organisation
from tooling.bench.kafka_io import Record

ORGANISATION = load_organisation()
SERVICE_AREA, TEAM, AREA = "early_help", "EH-NORTH", "north"
PRACTITIONER, TEAM_MANAGER = "S0006", "S0005"
AUDITOR = "S0009"
"""A trained auditor outside the team (Early Help South's manager), not its Head of Service."""
HEAD_OF_SERVICE = ORGANISATION.leads_of(SERVICE_AREA).head_of_service
HEAD_OF_SERVICE_EMAIL = str(ORGANISATION.staff_by_id[HEAD_OF_SERVICE].email)
DOMAINS = (
    "assessment",
    "planning",
    "visits",
    "voice_of_child",
    "management_oversight",
    "recording",
)


def case_reference(run: str, number: int) -> str:
    return f"CASE-BENCH-{run}-{number:06d}"


def audit_graded(case_id: str) -> AuditGraded:
    return AuditGraded.model_validate(
        {
            "case_id": case_id,
            "audit_id": f"AUD-{uuid.uuid4().hex[:16]}",
            "audit_kind": "learning",
            "reaudit_of": None,
            "service_area": SERVICE_AREA,
            "team_id": TEAM,
            "area": AREA,
            "practitioner_id": PRACTITIONER,
            "team_manager_id": TEAM_MANAGER,
            "auditor_id": AUDITOR,
            "overall_grade": "inadequate",
            "domain_grades": dict.fromkeys(DOMAINS, "inadequate"),
            "voice_of_child_evidenced": False,
            "could_be_better_if": (),
            "themes": ("planning",),
            "graded_at": datetime.now(UTC) - timedelta(minutes=1),
        }
    )


def inadequate_found(case_id: str) -> InadequateFound:
    return InadequateFound(
        case_id=case_id,
        audit_id=f"AUD-{uuid.uuid4().hex[:16]}",
        service_area=SERVICE_AREA,
        team_id=TEAM,
        graded_at=datetime.now(UTC) - timedelta(minutes=1),
        found_by="auditor",
    )


def followup_scheduled(case_id: str) -> FollowUpScheduled:
    """A reflective conversation for the Head of Service: one email, sent at once."""
    return FollowUpScheduled(
        case_id=case_id,
        followup_id=f"FU-{uuid.uuid4().hex[:16]}",
        audit_id=f"AUD-{uuid.uuid4().hex[:16]}",
        action="reflective_conversation",
        owner_id=HEAD_OF_SERVICE,
        due_on=date.today() + timedelta(days=7),
        service_area=SERVICE_AREA,
        scheduled_at=datetime.now(UTC),
    )


def record(data: EventData, producer: str) -> Record:
    """The Kafka key and CloudEvent value, as `producer` (a service of the platform) sends it."""
    event = new_event(data, source=service_source(producer))
    return kafka_key(event), serialize(event)


def audit_body(case_id: str) -> dict[str, object]:
    """A valid `POST /audits` body: an Inadequate learning audit of Early Help North."""
    return {
        "case_id": case_id,
        "auditor_id": AUDITOR,
        "team_id": TEAM,
        "practitioner_id": PRACTITIONER,
        "domain_grades": dict.fromkeys(DOMAINS, "inadequate"),
        "overall_grade": "inadequate",
        "voice_of_child": {"evidenced": True},
        "could_be_better_if": ["Record the plan's timescales"],
        "themes": ["planning"],
        "graded_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }
