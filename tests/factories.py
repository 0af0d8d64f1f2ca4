"""Valid example payloads of every event type, for tests."""

import uuid
from datetime import UTC, date, datetime

from shared.events import (
    ActionAgreed,
    ActionCompleted,
    ActionOverdue,
    ActionReminderDue,
    ActionUpdated,
    AuditAllocated,
    AuditDeclined,
    AuditExempted,
    AuditGraded,
    AuditOverdue,
    AuditReminderDue,
    AuditSubmitted,
    CaseAllocated,
    CaseAllocatedV2,
    CaseClosed,
    CaseOpened,
    CaseOpenedV2,
    EventData,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpOverdue,
    FollowUpScheduled,
    InadequateFound,
    ModerationCompleted,
    ModerationDisagreed,
    ModerationRequested,
    NotificationDelivered,
    NotificationFailed,
    ReminderDue,
    SamplingRateChanged,
)

AT = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
CASE = "CASE-000123"


def unique_case() -> str:
    return f"CASE-{uuid.uuid4().hex[:10]}"


def audit_graded(
    case_id: str = CASE, grade: str = "inadequate", audit_id: str = "AUD-1", **changes: object
) -> AuditGraded:
    fields: dict[str, object] = {
        "case_id": case_id,
        "audit_id": audit_id,
        "audit_kind": "learning",
        "reaudit_of": None,
        "service_area": "family_safeguarding",
        "team_id": "FS-NORTH-1",
        "area": "north",
        "practitioner_id": "STAFF-101",
        "team_manager_id": "STAFF-102",
        "auditor_id": "STAFF-103",
        "overall_grade": grade,
        "domain_grades": {"assessment": "good", "visits": grade},
        "voice_of_child_evidenced": False,
        "could_be_better_if": ("Record the child's wishes",),
        "themes": ("voice_of_child",),
        "graded_at": AT,
    }
    fields.update(changes)
    return AuditGraded.model_validate(fields)


def moderation_requested(
    audit_id: str = "AUD-1", moderator_id: str = "STAFF-301", **changes: object
) -> ModerationRequested:
    fields: dict[str, object] = {
        "case_id": CASE,
        "moderation_id": f"MOD-{audit_id}",
        "audit_id": audit_id,
        "moderator_id": moderator_id,
        "auditor_id": "STAFF-103",
        "service_area": "early_help",
        "auditor_grade": "inadequate",
        "reason": "inadequate",
        "requested_at": AT,
    }
    fields.update(changes)
    return ModerationRequested.model_validate(fields)


def _step() -> dict[str, object]:
    return {
        "case_id": CASE,
        "followup_id": "FU-1",
        "audit_id": "AUD-1",
        "action": "reflective_conversation",
        "owner_id": "STAFF-201",
        "due_on": date(2026, 11, 30),
    }


_FOLLOWUP_FIELDS: dict[type[EventData], dict[str, object]] = {
    FollowUpScheduled: {"service_area": "early_help", "scheduled_at": AT},
    FollowUpCompleted: {"outcome": "improved", "reaudit_id": "AUD-2", "completed_at": AT},
    FollowUpCancelled: {"reason": "Moderation regraded the audit", "cancelled_at": AT},
}


def followup_event(kind: type[EventData] = FollowUpScheduled, **changes: object) -> EventData:
    """A follow-up's step starting (FollowUpScheduled) or the follow-up closing."""
    return kind.model_validate(_step() | _FOLLOWUP_FIELDS[kind] | changes)


def _moderation() -> dict[str, object]:
    return {
        "case_id": CASE,
        "moderation_id": "MOD-1",
        "audit_id": "AUD-1",
        "moderator_id": "STAFF-301",
        "auditor_grade": "good",
        "moderated_grade": "inadequate",
        "grade_difference": 2,
        "rationale": "No evidence of management oversight",
        "moderated_at": AT,
    }


def _notification() -> dict[str, object]:
    return {
        "case_id": CASE,
        "notification_id": "N-1",
        "source_event_id": "E-1",
        "recipient_id": "STAFF-201",
        "channel": "email",
        "attempts": 1,
    }


def _action() -> dict[str, object]:
    return {
        "case_id": CASE,
        "action_id": "ACT-1",
        "origin": "followup",
        "origin_id": "FU-1",
        "audit_id": "AUD-1",
        "service_area": "family_safeguarding",
        "team_id": "FS-NORTH-1",
        "owner_id": "STAFF-101",
        "due_on": AT.date(),
        "status": "open",
    }


def _allocation() -> dict[str, object]:
    return {
        "case_id": CASE,
        "allocation_id": "ALC-1",
        "programme_id": "PRG-2026-11",
        "month": "2026-11",
        "service_area": "family_safeguarding",
        "team_id": "FS-NORTH-1",
        "practitioner_id": "STAFF-101",
        "team_manager_id": "STAFF-102",
        "auditor_id": "STAFF-103",
        "due_on": date(2026, 11, 30),
    }


def every_event_data() -> list[EventData]:
    """One valid payload of each event type in the contract."""
    team = {"team_id": "FS-NORTH-1", "practitioner_id": "STAFF-101", "team_manager_id": "STAFF-102"}
    held = {"plan_type": "child_protection", "legal_status": None, "opened_on": AT.date()}
    return [
        CaseOpened(case_id=CASE, opened_at=AT, **team),
        CaseAllocated(case_id=CASE, allocated_at=AT, **team),
        CaseClosed(case_id=CASE, closed_at=AT),
        CaseOpenedV2(case_id=CASE, opened_at=AT, **team, **held),
        CaseAllocatedV2(case_id=CASE, allocated_at=AT, **team, **held),
        audit_graded(),
        InadequateFound(
            case_id=CASE,
            audit_id="AUD-1",
            service_area="family_safeguarding",
            team_id="FS-NORTH-1",
            graded_at=AT,
            found_by="auditor",
        ),
        ModerationRequested(
            case_id=CASE,
            moderation_id="MOD-1",
            audit_id="AUD-1",
            moderator_id="STAFF-301",
            auditor_id="STAFF-103",
            service_area="early_help",
            auditor_grade="good",
            reason="sampled",
            requested_at=AT,
        ),
        ModerationCompleted(**_moderation()),
        ModerationDisagreed(**_moderation()),
        SamplingRateChanged(
            service_area="early_help",
            previous_rate=0.25,
            new_rate=0.5,
            reason="adaptive",
            changed_by=None,
            disagreement_rate=0.35,
            changed_at=AT,
        ),
        FollowUpScheduled(**_step(), service_area="early_help", scheduled_at=AT),
        ReminderDue(**_step(), reminder="due_today"),
        FollowUpOverdue(**_step(), escalated_to_id="STAFF-401", working_days_overdue=1),
        FollowUpCompleted(**_step(), outcome="improved", reaudit_id="AUD-2", completed_at=AT),
        FollowUpCancelled(
            **_step(), reason="Moderation regraded the audit as good", cancelled_at=AT
        ),
        ActionAgreed(**_action(), agreed_by="STAFF-401", agreed_at=AT),
        ActionUpdated(**_action(), change="evidence", changed_by="STAFF-102", changed_at=AT),
        ActionReminderDue(**_action(), reminder="two_working_days_before"),
        ActionOverdue(**_action(), escalated_to_id="STAFF-102", working_days_overdue=1),
        ActionCompleted(**_action(), completed_by="STAFF-101", completed_at=AT),
        AuditAllocated(**_allocation(), allocated_by=None, allocated_at=AT),
        AuditDeclined(**_allocation(), declined_at=AT),
        AuditExempted(**_allocation(), exempted_by="STAFF-401", exempted_at=AT),
        AuditSubmitted(**_allocation(), audit_id="AUD-1", submitted_at=AT),
        AuditReminderDue(**_allocation(), reminder="two_working_days_before"),
        AuditOverdue(**_allocation(), escalated_to_id="STAFF-401", working_days_overdue=1),
        NotificationDelivered(**_notification(), delivered_at=AT),
        NotificationFailed(**_notification(), reason="SMTP 550 mailbox unavailable", failed_at=AT),
    ]
