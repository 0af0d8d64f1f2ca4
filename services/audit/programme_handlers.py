"""Use cases of a programme audit: draft, reflect, submit, decline, exempt. Each loads the
allocation under its lock, lets the pure rules decide (`allocation_rules`, and
`programme_auditors` for a reallocation), saves, and queues the events in the same
transaction. Drawing the month is `programme_drawing`'s."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.audit.allocation_rules import (
    after_draft,
    reflection_role,
    require_auditor,
    require_exempter,
    require_live,
    unknown_people,
)
from services.audit.domain import AuditForm
from services.audit.handlers import Submission, submit_audit
from services.audit.models import AllocationRow, Audit, ProgrammeRow, ReflectionRow, SubmissionKey
from services.audit.programme_auditors import reallocate
from services.audit.programme_draw import PROGRAMME_RULE, OpenCase
from services.audit.programme_drawing import Programmes, allocation_row, unallocated_case
from services.audit.programme_forms import (
    AllocatedAuditForm,
    AuditDraft,
    ReasonForm,
    ReflectionForm,
)
from services.audit.programme_store import allocated, declined, exempted, live_load, people_of
from services.audit.submission import check_replay
from shared.auth import Caller
from shared.confirmations import require_confirmed
from shared.db import lock_for, transaction
from shared.errors import FieldProblem, NotFound, RuleBroken
from shared.events.vocabulary import AllocationStatus, AuditKind
from shared.organisation import Organisation
from shared.personal_data import personal_data_cautions


def _locked(session: Session, allocation_id: str) -> AllocationRow:
    """The allocation, with every other change to it waiting until this transaction ends."""
    lock_for(session, f"allocation:{allocation_id}")
    row = session.get(AllocationRow, allocation_id)
    if row is None:
        raise NotFound(f"no allocation {allocation_id!r}")
    return row


def save_draft(
    engine: Engine, allocation_id: str, caller: Caller, draft: AuditDraft, now: datetime
) -> AllocationRow:
    """Keep the auditor's partial audit (each save replaces the last); puts it in progress."""
    with transaction(engine) as session:
        row = _locked(session, allocation_id)
        people = people_of(row)
        require_auditor(caller, people, "draft")
        require_live(people, "drafted")
        _require_same_case(row, draft.case_id, draft.auditor_id)
        row.draft = draft.model_dump(mode="json", exclude_none=True)
        row.draft_saved_at = now
        row.status = after_draft(people.status).value
        session.add(row)
        return row


def _require_same_case(row: AllocationRow, case_id: str | None, auditor_id: str | None) -> None:
    problems = []
    if case_id is not None and case_id != row.case_id:
        problems.append(FieldProblem("case_id", f"allocation {row.id} is of case {row.case_id}"))
    if auditor_id is not None and auditor_id != row.auditor_id:
        problems.append(
            FieldProblem("auditor_id", f"allocation {row.id} is {row.auditor_id}'s to audit")
        )
    if problems:
        raise RuleBroken(PROGRAMME_RULE, problems)


def add_reflection(
    engine: Engine, allocation_id: str, caller: Caller, form: ReflectionForm, now: datetime
) -> AllocationRow:
    """The practitioner's, team manager's or auditor's own reflection on the audit."""
    with transaction(engine) as session:
        row = _locked(session, allocation_id)
        people = people_of(row)
        role = reflection_role(caller.id, people)
        require_live(people, "reflected on")
        require_confirmed(personal_data_cautions("text", form.text), form.confirmed)
        session.add(
            ReflectionRow(
                allocation_id=row.id, by=caller.id, role=role.value, text=form.text, at=now
            )
        )
        return row


@dataclass(frozen=True)
class AllocatedSubmission:
    """A programme audit as sent, and the caller's Idempotency-Key if they sent one."""

    form: AllocatedAuditForm
    key: str | None = None


def submit_allocated(
    ctx: Programmes, allocation_id: str, caller: Caller, sent: AllocatedSubmission, now: datetime
) -> tuple[AllocationRow, Audit, bool]:
    """Record the audit as POST /audits does, and the allocation as submitted by it; True
    when the Idempotency-Key replayed an earlier submission."""
    try:
        with transaction(ctx.engine) as session:
            return _submit(session, allocation_id, caller, sent, ctx.organisation, now)
    except IntegrityError:
        if sent.key is None:
            raise
        with transaction(ctx.engine) as session:  # the same key won concurrently: replay it
            return _submit(session, allocation_id, caller, sent, ctx.organisation, now)


def _submit(
    session: Session,
    allocation_id: str,
    caller: Caller,
    sent: AllocatedSubmission,
    organisation: Organisation,
    now: datetime,
) -> tuple[AllocationRow, Audit, bool]:
    row = _locked(session, allocation_id)
    people = people_of(row)
    require_auditor(caller, people, "submit")
    form, key = sent.form.audit_form(), sent.key
    replay = _replayed(session, row, caller, form, key)
    if replay is not None:
        return row, replay, True
    require_live(people, "submitted")
    _require_same_case(row, form.case_id, None)
    problems = [
        FieldProblem("took_part", f"unknown staff member {person!r}")
        for person in unknown_people(sent.form.took_part, organisation)
    ]
    if form.audit_kind is not AuditKind.LEARNING:
        problems.append(FieldProblem("audit_kind", "a programme audit is a learning audit"))
    if problems:
        raise RuleBroken(PROGRAMME_RULE, problems)
    audit, replayed = submit_audit(session, Submission(form, caller.id, key), organisation, now)
    if not replayed:  # the audit submitted the allocation (programme_store.close_by_audit)
        row.took_part = list(dict.fromkeys(sent.form.took_part))
        session.add(row)
    return row, audit, replayed


def _replayed(
    session: Session, row: AllocationRow, caller: Caller, form: AuditForm, key: str | None
) -> Audit | None:
    """The audit that submitted `row` when `key` is the one it was submitted with."""
    if key is None or row.audit_id is None:
        return None
    previous = session.get(SubmissionKey, (caller.id, key))
    if previous is None or previous.audit_id != row.audit_id:
        return None
    check_replay(form, previous.fingerprint)
    return session.get(Audit, row.audit_id)


@dataclass(frozen=True)
class Reallocation:
    declined: AllocationRow
    successor: AllocationRow | None
    unallocated_reason: str | None
    """Why nobody else could take it, when nobody could."""


def decline(
    ctx: Programmes, allocation_id: str, caller: Caller, form: ReasonForm, now: datetime
) -> Reallocation:
    """The auditor gives the audit back with a reason; the next eligible auditor gets it."""
    with transaction(ctx.engine) as session:
        row = _locked(session, allocation_id)
        people = people_of(row)
        require_auditor(caller, people, "decline")
        require_live(people, "declined")
        require_confirmed(personal_data_cautions("reason", form.reason), form.confirmed)
        row.status, row.reason, row.closed_at = AllocationStatus.DECLINED.value, form.reason, now
        declined(session, row, now)
        successor, why = _reallocated(session, ctx, row, now)
        row.reallocated_to = successor.id if successor else None
        session.add(row)
        return Reallocation(row, successor, None if successor else why)


def _reallocated(
    session: Session, ctx: Programmes, row: AllocationRow, now: datetime
) -> tuple[AllocationRow | None, str]:
    programme = session.get(ProgrammeRow, row.programme_id)
    assert programme is not None
    earlier = select(AllocationRow.auditor_id).where(
        AllocationRow.programme_id == row.programme_id,
        AllocationRow.case_id == row.case_id,
        col(AllocationRow.status) == AllocationStatus.DECLINED.value,
    )
    excluded = set(session.exec(earlier)) | {row.auditor_id}
    case = OpenCase(row.case_id, row.team_id, row.practitioner_id, row.team_manager_id)
    choice = reallocate(case, ctx.organisation, live_load(session), excluded, programme.seed)
    if choice.auditor_id is None:
        reason = unallocated_case(row.case_id, row.team_id, choice.why_auditor, ctx.organisation)
        programme.unallocated = [*programme.unallocated, reason]  # a new list: JSON is replaced
        session.add(programme)
        return None, choice.why_auditor
    successor = allocation_row(programme, case, choice, row.why_case, ctx, now)
    successor.due_on, successor.reallocated_from = row.due_on, row.id
    session.add(successor)
    allocated(session, successor)
    return successor, choice.why_auditor


def exempt(
    ctx: Programmes, allocation_id: str, caller: Caller, form: ReasonForm, now: datetime
) -> AllocationRow:
    """The area's assistant director takes the case out of this month's programme."""
    with transaction(ctx.engine) as session:
        row = _locked(session, allocation_id)
        people = people_of(row)
        require_exempter(caller, people, ctx.organisation)
        require_live(people, "exempted")
        require_confirmed(personal_data_cautions("reason", form.reason), form.confirmed)
        row.status, row.reason, row.closed_at = AllocationStatus.EXEMPTED.value, form.reason, now
        row.exempted_by = caller.id
        session.add(row)
        exempted(session, row, caller.id, now)
        return row
