"""Use cases of the audit service: record an audit, keep the case register, learn moderators
and who may record each re-audit. (The monthly programme's are in `programme_handlers`; a
learning audit of an allocated case by its auditor submits the allocation, however sent.)

Each loads what the rules need, calls the decision (`domain`, `submission`, `register`) and
saves what it returns.
"""

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.audit.domain import AuditForm, EarlierAudit, check_audit
from services.audit.models import (
    Audit,
    AuditModerator,
    ReauditAssignmentRow,
    RegisteredCase,
    SubmissionKey,
)
from services.audit.month_counts import count_audits
from services.audit.programme_store import close_by_audit
from services.audit.reaudit import FollowUpEvent, ReauditAssignment, assigned
from services.audit.register import CaseFacts, RegisterEntry, allocation_of, registered
from services.audit.submission import GradedAudit, audit_events, check_replay, fingerprint, graded
from shared.clock import Clock
from shared.db import read_rows_ahead, row_read_ahead, transaction
from shared.events import (
    CaseAllocated,
    CaseAllocatedV2,
    CaseClosed,
    CaseOpened,
    CaseOpenedV2,
    CloudEvent,
    EventData,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpScheduled,
    ModerationRequested,
    new_event,
)
from shared.events.vocabulary import FollowUpAction
from shared.inbox import EventHandler
from shared.organisation import Organisation
from shared.outbox import add_event

SOURCE = "/qa/audit"


@dataclass(frozen=True)
class Submission:
    """An audit form as sent, by whom, and their Idempotency-Key if they sent one.

    A key is the caller's own: the same key from another caller is another submission.
    """

    form: AuditForm
    caller_id: str
    key: str | None = None


def record_audit(
    engine: Engine, sent: Submission, organisation: Organisation, clock: Clock
) -> tuple[Audit, bool]:
    """Submit in its own transaction; True when a key replayed an earlier submission."""
    try:
        with transaction(engine) as session:
            return submit_audit(session, sent, organisation, clock.now())
    except IntegrityError:
        if sent.key is None:
            raise
        # The same key was submitted concurrently and the other request won: replay it.
        with transaction(engine) as session:
            return submit_audit(session, sent, organisation, clock.now())


def submit_audit(
    session: Session, sent: Submission, organisation: Organisation, now: datetime
) -> tuple[Audit, bool]:
    """Store a checked audit and queue its events; a replayed key returns the first audit."""
    form, key = sent.form, sent.key
    if (
        key is not None
        and (previous := session.get(SubmissionKey, (sent.caller_id, key))) is not None
    ):
        check_replay(form, previous.fingerprint)
        original = session.get(Audit, previous.audit_id)
        if original is None:
            raise LookupError(f"audit {previous.audit_id} of a submission key is missing")
        return original, True
    allocation = allocation_of(register_entry(session, form.case_id))
    checked = check_audit(form, organisation, allocation, _earlier(session, form), now)
    audit = graded(checked, f"AUD-{uuid.uuid4().hex[:16]}")
    row = _audit_row(audit)
    session.add(row)
    count_audits(session, [row])  # the board's counts, in this same transaction
    if key is not None:
        session.add(
            SubmissionKey(
                caller_id=sent.caller_id, key=key, fingerprint=fingerprint(form), audit_id=audit.id
            )
        )
    for data in audit_events(audit):
        add_event(session, new_event(data, source=SOURCE, correlation_id=audit.id))
    close_by_audit(session, row, now)
    return row, False


def _audit_row(audit: GradedAudit) -> Audit:
    return Audit(
        id=audit.id,
        case_id=audit.case_id,
        audit_kind=audit.audit_kind,
        reaudit_of=audit.reaudit_of,
        service_area=audit.service_area,
        team_id=audit.team_id,
        area=audit.area,
        practitioner_id=audit.practitioner_id,
        team_manager_id=audit.team_manager_id,
        auditor_id=audit.auditor_id,
        overall_grade=audit.overall_grade,
        domain_grades={domain.value: grade.value for domain, grade in audit.domain_grades.items()},
        voice_of_child_evidenced=audit.voice_of_child_evidenced,
        voice_of_child_note=audit.voice_of_child_note,
        could_be_better_if=list(audit.could_be_better_if),
        themes=list(audit.themes),
        graded_at=audit.graded_at,
    )


def _earlier(session: Session, form: AuditForm) -> EarlierAudit | None:
    earlier = session.get(Audit, form.reaudit_of) if form.reaudit_of else None
    if earlier is None:
        return None
    return EarlierAudit(earlier.id, earlier.case_id, reaudit_assignment(session, earlier.id))


def reaudit_assignment(session: Session, audit_id: str) -> ReauditAssignment | None:
    """Where the follow-up of `audit_id` stands, as the scheduler last announced it."""
    return _assignment_of(session.get(ReauditAssignmentRow, audit_id))


def _assignment_of(row: ReauditAssignmentRow | None) -> ReauditAssignment | None:
    if row is None:
        return None
    return ReauditAssignment(
        row.audit_id, row.followup_id, FollowUpAction(row.step), row.owner_id, row.open, row.as_of
    )


FOLLOWUP_EVENTS = (FollowUpScheduled, FollowUpCompleted, FollowUpCancelled)


def learn_followup_step(session: Session, event: CloudEvent[EventData]) -> None:
    """Keep who may record an audit's re-audit (`reaudit.assigned` decides what changes)."""
    data = event.data
    if not isinstance(data, FOLLOWUP_EVENTS):
        raise TypeError(f"not a follow-up event: {event.type}")
    followup: FollowUpEvent = data
    row = row_read_ahead(session, ReauditAssignmentRow, "audit_id", followup.audit_id)
    after = assigned(_assignment_of(row), followup)
    if after is None:
        return
    changes = asdict(after) | {"step": after.step.value}
    if row is None:
        row = ReauditAssignmentRow(**changes)
    else:
        row.sqlmodel_update(changes)
    session.add(row)


def read_followups_ahead(session: Session, events: Sequence[CloudEvent[EventData]]) -> None:
    """For a batch of follow-up events (shared.inbox `reads_ahead`): each audit's re-audit
    assignment, one query for all."""
    audits = [(e, e.data.audit_id) for e in events if isinstance(e.data, FOLLOWUP_EVENTS)]
    read_rows_ahead(session, ReauditAssignmentRow, "audit_id", audits)


def register_entry(session: Session, case_id: str) -> RegisterEntry | None:
    """What the register holds of `case_id`, if anything."""
    return _entry_of(session.get(RegisteredCase, case_id))


def _entry_of(case: RegisteredCase | None) -> RegisterEntry | None:
    if case is None:
        return None
    return RegisterEntry(
        case.case_id,
        case.team_id,
        case.practitioner_id,
        case.team_manager_id,
        open=case.open,
        as_of=case.as_of,
        allocated_as_of=case.allocated_as_of,
        facts=CaseFacts(case.plan_type, case.legal_status, case.opened_on, case.closing_on),
    )


CASE_EVENTS = (CaseOpened, CaseAllocated, CaseOpenedV2, CaseAllocatedV2, CaseClosed)


def case_registrar(organisation: Organisation) -> EventHandler:
    """The handler of case events: `register_case` with the organisation's teams' areas."""

    def register(session: Session, event: CloudEvent[EventData]) -> None:
        register_case(session, event, organisation)

    return register


def read_cases_ahead(session: Session, events: Sequence[CloudEvent[EventData]]) -> None:
    """For a batch of case events (shared.inbox `reads_ahead`): what the register holds of
    each case, one query for all."""
    read_rows_ahead(session, RegisteredCase, "case_id", [(e, e.subject) for e in events])


def register_case(
    session: Session, event: CloudEvent[EventData], organisation: Organisation
) -> None:
    """Apply a case event to the register (`register.registered` decides what changes)."""
    data = event.data
    if not isinstance(data, CASE_EVENTS):
        raise TypeError(f"not a case event: {event.type}")
    case = row_read_ahead(session, RegisteredCase, "case_id", event.subject)
    entry = registered(_entry_of(case), data)
    if entry is None:
        return
    team = organisation.teams_by_id.get(entry.team_id)
    changes = asdict(entry) | asdict(entry.facts)
    del changes["case_id"], changes["facts"]
    changes["service_area"] = team.service_area.value if team else None
    if case is None:
        case = RegisteredCase(case_id=entry.case_id, **changes)
    else:
        case.sqlmodel_update(changes)
    session.add(case)


def learn_moderator(session: Session, event: CloudEvent[EventData]) -> None:
    """Remember who moderates an audit: the rule lets them see it (shared.visibility)."""
    data = event.data
    if not isinstance(data, ModerationRequested):
        raise TypeError(f"not a moderation request: {event.type}")
    if session.get(AuditModerator, (data.audit_id, data.moderator_id)) is None:
        session.add(
            AuditModerator(
                audit_id=data.audit_id,
                moderator_id=data.moderator_id,
                moderation_id=data.moderation_id,
            )
        )
