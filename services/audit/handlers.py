"""Use cases of the audit service: record an audit, keep the case register."""

import hashlib
import uuid
from datetime import datetime

from sqlmodel import Session

from services.audit.domain import (
    AuditForm,
    CaseAllocation,
    CheckedAudit,
    EarlierAudit,
    check_audit,
)
from services.audit.models import Audit, RegisteredCase, SubmissionKey
from shared.db import as_utc
from shared.events import (
    AuditGraded,
    CaseAllocated,
    CaseClosed,
    CaseOpened,
    CloudEvent,
    EventData,
    InadequateFound,
    new_event,
)
from shared.events.vocabulary import FoundBy, Grade
from shared.organisation import Organisation
from shared.outbox import add_event

SOURCE = "/qa/audit"


class IdempotencyKeyReused(Exception):
    """The key was first used for a different audit; replaying it would hide a real change."""


def fingerprint(form: AuditForm) -> str:
    return hashlib.sha256(form.model_dump_json().encode()).hexdigest()


def submit_audit(
    session: Session, form: AuditForm, key: str | None, organisation: Organisation, now: datetime
) -> tuple[Audit, bool]:
    """Store a checked audit and queue its events; a replayed key returns the first audit."""
    if key is not None and (previous := session.get(SubmissionKey, key)) is not None:
        if previous.fingerprint != fingerprint(form):
            raise IdempotencyKeyReused(key)
        original = session.get(Audit, previous.audit_id)
        if original is None:
            raise LookupError(f"audit {previous.audit_id} of key {key} is missing")
        return original, True
    allocation = _allocation(session, form.case_id)
    checked = check_audit(form, organisation, allocation, _earlier(session, form), now)
    audit = _audit_from(checked)
    session.add(audit)
    if key is not None:
        session.add(SubmissionKey(key=key, fingerprint=fingerprint(form), audit_id=audit.id))
    for data in audit_events(audit):
        add_event(session, new_event(data, source=SOURCE, correlation_id=audit.id))
    return audit, False


def audit_events(audit: Audit) -> list[EventData]:
    """AuditGraded for every audit, and InadequateFound when the overall grade is inadequate."""
    graded = AuditGraded(
        case_id=audit.case_id,
        audit_id=audit.id,
        audit_kind=audit.audit_kind,
        reaudit_of=audit.reaudit_of,
        service_area=audit.service_area,
        team_id=audit.team_id,
        area=audit.area,
        practitioner_id=audit.practitioner_id,
        team_manager_id=audit.team_manager_id,
        auditor_id=audit.auditor_id,
        overall_grade=audit.overall_grade,
        domain_grades=audit.domain_grades,
        voice_of_child_evidenced=audit.voice_of_child_evidenced,
        could_be_better_if=tuple(audit.could_be_better_if),
        themes=tuple(audit.themes),
        graded_at=as_utc(audit.graded_at),
    )
    if graded.overall_grade is not Grade.INADEQUATE:
        return [graded]
    found = InadequateFound(
        case_id=audit.case_id,
        audit_id=audit.id,
        service_area=audit.service_area,
        team_id=audit.team_id,
        graded_at=graded.graded_at,
        found_by=FoundBy.AUDITOR,
    )
    return [graded, found]


def _audit_from(checked: CheckedAudit) -> Audit:
    form = checked.form
    return Audit(
        id=f"AUD-{uuid.uuid4().hex[:16]}",
        case_id=form.case_id,
        audit_kind=form.audit_kind,
        reaudit_of=form.reaudit_of,
        service_area=checked.team.service_area,
        team_id=checked.team.id,
        area=checked.team.area,
        practitioner_id=checked.practitioner_id,
        team_manager_id=checked.team_manager_id,
        auditor_id=form.auditor_id,
        overall_grade=form.overall_grade,
        domain_grades={domain.value: grade.value for domain, grade in form.domain_grades.items()},
        voice_of_child_evidenced=form.voice_of_child.evidenced,
        voice_of_child_note=form.voice_of_child.note,
        could_be_better_if=list(form.could_be_better_if),
        themes=list(form.themes),
        graded_at=form.graded_at,
    )


def _allocation(session: Session, case_id: str) -> CaseAllocation | None:
    case = session.get(RegisteredCase, case_id)
    if case is None or not case.team_id:  # unknown, or known only to be closed
        return None
    return CaseAllocation(
        case.case_id, case.team_id, case.practitioner_id, case.team_manager_id, case.open
    )


def _earlier(session: Session, form: AuditForm) -> EarlierAudit | None:
    earlier = session.get(Audit, form.reaudit_of) if form.reaudit_of else None
    return EarlierAudit(earlier.id, earlier.case_id) if earlier else None


def register_case(session: Session, event: CloudEvent[EventData]) -> None:
    """Apply a case event to the register; an event older than what we hold changes nothing."""
    data = event.data
    case = session.get(RegisteredCase, event.subject)
    match data:
        case CaseOpened(opened_at=when) | CaseAllocated(allocated_at=when):
            if case is not None and as_utc(case.as_of) > when:
                return
            case = case or RegisteredCase(
                case_id=data.case_id, team_id="", practitioner_id="", team_manager_id="", as_of=when
            )
            case.team_id, case.practitioner_id = data.team_id, data.practitioner_id
            case.team_manager_id, case.open, case.as_of = data.team_manager_id, True, when
        case CaseClosed(closed_at=when):
            if case is not None and as_utc(case.as_of) > when:
                return
            # A close before its open (another order) is kept, so the late open changes nothing.
            case = case or RegisteredCase(
                case_id=data.case_id, team_id="", practitioner_id="", team_manager_id="", as_of=when
            )
            case.open, case.as_of = False, when
        case _:
            raise TypeError(f"not a case event: {event.type}")
    session.add(case)
