"""Use cases of the scheduler: open, advance, complete and cancel follow-ups.

Events may come late, twice, or in another order across topics (a re-audit before the
conversation, a moderation before the finding). Each handler records what it learnt as a fact,
then brings the follow-up to the state the facts imply, so every order ends the same way.
"""

import uuid
from functools import partial
from typing import TypeVar

from sqlmodel import Session, SQLModel

from services.scheduler.action_decisions import agree_actions
from services.scheduler.action_store import save_action
from services.scheduler.allocation_handlers import allocation_handlers
from services.scheduler.conversation import ConversationForm, hold_conversation
from services.scheduler.decisions import open_followup, settle
from services.scheduler.followup import FollowUpState
from services.scheduler.models import AuditFact, FollowUp, ModerationFact, ModeratorFact
from services.scheduler.reassignment import ReassignForm, reassign
from services.scheduler.store import (
    SchedulerContext,
    audit_fact,
    facts_of,
    followup_of,
    read_audits_ahead,
    save,
    state_of,
)
from shared.db import lock_for
from shared.errors import NotFound
from shared.events import (
    AuditGraded,
    CloudEvent,
    EventData,
    InadequateFound,
    ModerationCompleted,
    ModerationRequested,
)
from shared.inbox import EventHandler, reads_ahead, reads_only_its_subject

E = TypeVar("E", bound=EventData)


def event_handlers(ctx: SchedulerContext) -> dict[type[EventData], EventHandler]:
    """What the scheduler does with each event it consumes."""
    return {
        InadequateFound: audit_handler(partial(on_inadequate_found, ctx=ctx)),
        AuditGraded: audit_handler(partial(on_audit_graded, ctx=ctx)),
        ModerationRequested: on_moderation_requested,
        ModerationCompleted: partial(on_moderation_completed, ctx=ctx),
        **allocation_handlers(ctx),
    }


def audit_handler(handler: EventHandler) -> EventHandler:
    """A handler of findings or gradings: it reads only its audit's rows, and an audit is of
    one case, its event's subject; a batch's locks and rows are read at once for all."""
    return reads_ahead(read_audits_ahead)(reads_only_its_subject(handler))


# --- facts in ------------------------------------------------------------------------


def on_inadequate_found(
    session: Session, event: CloudEvent[EventData], ctx: SchedulerContext
) -> None:
    data = _expect(event, InadequateFound)
    lock_for(session, data.audit_id)  # replicas see this audit's facts one at a time
    if followup_of(session, data.audit_id) is not None:
        return  # one follow-up per audit, whoever found it first
    now = ctx.clock.now()
    followup_id = f"FU-{uuid.uuid4().hex[:16]}"
    facts = facts_of(session, data.audit_id, None)
    save(session, None, open_followup(data, event.id, followup_id, facts, now, ctx.rules), now)


def on_moderation_completed(
    session: Session, event: CloudEvent[EventData], ctx: SchedulerContext
) -> None:
    data = _expect(event, ModerationCompleted)
    lock_for(session, data.audit_id)
    if session.get(ModerationFact, data.audit_id) is None:
        fact = ModerationFact(
            audit_id=data.audit_id,
            moderation_id=data.moderation_id,
            moderated_grade=data.moderated_grade,
            moderated_at=data.moderated_at,
        )
        _learn(session, fact)
    settle_followup(session, data.audit_id, ctx)


def on_audit_graded(session: Session, event: CloudEvent[EventData], ctx: SchedulerContext) -> None:
    data = _expect(event, AuditGraded)
    lock_for(session, data.reaudit_of or data.audit_id)
    if audit_fact(session, data.audit_id) is None:
        fact = AuditFact(
            audit_id=data.audit_id,
            case_id=data.case_id,
            auditor_id=data.auditor_id,
            practitioner_id=data.practitioner_id,
            team_manager_id=data.team_manager_id,
            overall_grade=data.overall_grade,
            reaudit_of=data.reaudit_of,
            graded_at=data.graded_at,
        )
        _learn(session, fact)
    if data.reaudit_of is not None:
        settle_followup(session, data.reaudit_of, ctx)


def on_moderation_requested(session: Session, event: CloudEvent[EventData]) -> None:
    """Who moderates an audit may see its follow-up; it changes nothing else."""
    data = _expect(event, ModerationRequested)
    if session.get(ModeratorFact, (data.audit_id, data.moderator_id)) is None:
        fact = ModeratorFact(
            audit_id=data.audit_id,
            moderator_id=data.moderator_id,
            moderation_id=data.moderation_id,
        )
        session.add(fact)


# --- people in -----------------------------------------------------------------------


def record_conversation(
    session: Session, followup_id: str, form: ConversationForm, ctx: SchedulerContext
) -> tuple[FollowUpState, bool]:
    """The Head of Service records the conversation as held; the re-audit is then scheduled
    and each agreed action created.

    Returns the follow-up and whether this was the same conversation recorded again."""
    row = _locked(session, followup_id)
    now = ctx.clock.now()
    facts = facts_of(session, row.audit_id, row)
    decision = hold_conversation(state_of(row), form, facts, now, ctx.rules)
    save(session, row, decision, now)
    if not decision.replayed:
        agreed = agree_actions(
            decision.followup, form.agreed_actions, form.recorded_by, now, ctx.rules, _action_id
        )
        for action in agreed:
            save_action(session, None, action, now)
    return decision.followup, decision.replayed


def reassign_reaudit(
    session: Session, followup_id: str, form: ReassignForm, by: str, ctx: SchedulerContext
) -> FollowUpState:
    """An assistant director gives the re-audit to another auditor, who is told of it."""
    row = _locked(session, followup_id)
    now = ctx.clock.now()
    facts = facts_of(session, row.audit_id, row)
    decision = reassign(state_of(row), form, by, facts, now, ctx.rules)
    save(session, row, decision, now)
    return decision.followup


# --- helpers -------------------------------------------------------------------------


def _locked(session: Session, followup_id: str) -> FollowUp:
    """The follow-up, read again once this transaction holds its audit's lock."""
    row = session.get(FollowUp, followup_id)
    if row is None:
        raise NotFound(f"no follow-up {followup_id!r}")
    lock_for(session, row.audit_id)
    session.refresh(row)
    return row


def _action_id() -> str:
    return f"ACT-{uuid.uuid4().hex[:16]}"


def _learn(session: Session, fact: SQLModel) -> None:
    session.add(fact)
    session.flush()  # the new fact is one of those the follow-up is settled by


def settle_followup(session: Session, audit_id: str, ctx: SchedulerContext) -> None:
    """Bring the audit's follow-up to the state its facts imply (under the audit's lock)."""
    row = followup_of(session, audit_id)
    if row is None:
        return  # the finding has not arrived yet; it settles itself by these facts when it does
    now = ctx.clock.now()
    save(session, row, settle(state_of(row), facts_of(session, audit_id, row), now, ctx.rules), now)


def _expect(event: CloudEvent[EventData], kind: type[E]) -> E:
    if not isinstance(event.data, kind):
        raise TypeError(f"expected {kind.__name__}, got {event.type}")
    return event.data
