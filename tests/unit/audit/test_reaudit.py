"""Who may record a re-audit, and the follow-up steps the audit service learns in any order."""

from datetime import timedelta
from itertools import permutations

import pytest

from services.audit.app import event_handlers
from services.audit.domain import AuditForm, AuditRejected, EarlierAudit, check_audit
from services.audit.reaudit import ReauditAssignment, assigned
from services.audit.service import SERVICE
from shared.events import FollowUpCancelled, FollowUpCompleted, FollowUpScheduled, topics
from shared.events.vocabulary import FollowUpAction
from shared.organisation import load_organisation
from tests.factories import AT, followup_event
from tests.unit.audit.followups import reaudit_step
from tests.unit.audit.test_audit_rules import NOW, form

ORG = load_organisation()
AUDITOR = "S0009"  # Isla Iqbal: team manager of EH-SOUTH, re-auditing an EH-NORTH case
OTHER_AUDITOR = "S0013"
CASE_TEAM_MANAGER = "S0005"  # manages EH-NORTH
CONVERSATION, REAUDIT = FollowUpAction.REFLECTIVE_CONVERSATION, FollowUpAction.REAUDIT


def reaudit_by(auditor_id: str) -> AuditForm:
    return form(audit_kind="reaudit", reaudit_of="AUD-1", auditor_id=auditor_id)


def refusal(auditor_id: str, followup: ReauditAssignment | None) -> dict[str, str]:
    earlier = EarlierAudit("AUD-1", "CASE-1", followup)
    with pytest.raises(AuditRejected) as rejected:
        check_audit(reaudit_by(auditor_id), ORG, None, earlier, NOW)
    return {p.field: p.message for p in rejected.value.problems}


def test_a_reaudit_of_an_audit_with_no_followup_known_is_refused():
    assert refusal(AUDITOR, None) == {
        "reaudit_of": "audit AUD-1 has no follow-up waiting for a re-audit: only an Inadequate "
        "audit is re-audited, after its reflective conversation is recorded"
    }


def test_a_reaudit_before_the_reflective_conversation_is_refused():
    assert refusal(AUDITOR, reaudit_step("S0003", step=CONVERSATION)) == {
        "reaudit_of": "the reflective conversation on audit AUD-1 is not recorded yet: the "
        "re-audit can be recorded once the Head of Service has recorded it"
    }


def test_a_reaudit_of_a_closed_followup_is_refused():
    assert refusal(AUDITOR, reaudit_step(AUDITOR, open=False)) == {
        "reaudit_of": "the follow-up of audit AUD-1 is closed: it needs no re-audit"
    }


def test_a_reaudit_by_an_auditor_it_is_not_assigned_to_is_refused():
    assert refusal(OTHER_AUDITOR, reaudit_step(AUDITOR)) == {
        "auditor_id": f"the re-audit of audit AUD-1 is assigned to {AUDITOR}: only they can "
        "record it, unless an assistant director reassigns it to you"
    }


def test_the_cases_own_team_manager_cannot_reaudit_it_even_when_assigned():
    assert refusal(CASE_TEAM_MANAGER, reaudit_step(CASE_TEAM_MANAGER)) == {
        "auditor_id": "you manage the team that holds this case: its re-audit must be recorded "
        "by the auditor it is assigned to, from outside the team"
    }


def test_the_assigned_auditor_at_the_reaudit_step_is_accepted():
    earlier = EarlierAudit("AUD-1", "CASE-1", reaudit_step(AUDITOR))
    checked = check_audit(reaudit_by(AUDITOR), ORG, None, earlier, NOW)
    assert (checked.form.reaudit_of, checked.form.auditor_id) == ("AUD-1", AUDITOR)


# --- the steps, learnt from the scheduler's events in any order ------------------------------

CONVERSATION_STARTS = followup_event(FollowUpScheduled, owner_id="S0003", scheduled_at=AT)
REAUDIT_STARTS = followup_event(
    FollowUpScheduled, action="reaudit", owner_id=AUDITOR, scheduled_at=AT + timedelta(days=3)
)
REASSIGNED = followup_event(
    FollowUpScheduled, action="reaudit", owner_id=OTHER_AUDITOR, scheduled_at=AT + timedelta(5)
)
COMPLETED = followup_event(
    FollowUpCompleted, action="reaudit", owner_id=OTHER_AUDITOR, completed_at=AT + timedelta(9)
)


def learnt(*events) -> ReauditAssignment | None:
    known = None
    for event in events:
        known = assigned(known, event) or known
    return known


def test_each_step_moves_the_assignment_forward():
    assert learnt(CONVERSATION_STARTS) == ReauditAssignment(
        "AUD-1", "FU-1", CONVERSATION, "S0003", True, AT
    )
    started = learnt(CONVERSATION_STARTS, REAUDIT_STARTS)
    assert started is not None
    assert (started.step, started.owner_id, started.open) == (REAUDIT, AUDITOR, True)


@pytest.mark.parametrize("order", list(permutations([CONVERSATION_STARTS, REAUDIT_STARTS])))
def test_a_late_conversation_step_does_not_undo_the_reaudit_step(order):
    found = learnt(*order)
    assert found is not None
    assert (found.step, found.owner_id) == (REAUDIT, AUDITOR)


@pytest.mark.parametrize(
    "order", list(permutations([CONVERSATION_STARTS, REAUDIT_STARTS, REASSIGNED]))
)
def test_a_reassignment_stands_whatever_order_the_steps_arrive_in(order):
    found = learnt(*order)
    assert found is not None
    assert (found.step, found.owner_id, found.open) == (REAUDIT, OTHER_AUDITOR, True)


@pytest.mark.parametrize(
    "order", list(permutations([CONVERSATION_STARTS, REAUDIT_STARTS, REASSIGNED, COMPLETED]))
)
def test_a_closed_followup_stays_closed_whatever_arrives_after_it(order):
    found = learnt(*order)
    assert found is not None
    assert found.open is False


def test_a_cancelled_followup_is_closed_at_whichever_step():
    cancelled = followup_event(FollowUpCancelled, cancelled_at=AT + timedelta(days=1))
    found = learnt(CONVERSATION_STARTS, cancelled, REAUDIT_STARTS)
    assert found is not None
    assert (found.step, found.open) == (CONVERSATION, False)


def test_the_same_event_twice_changes_nothing_the_second_time():
    first = assigned(None, REAUDIT_STARTS)
    assert assigned(first, REAUDIT_STARTS) is None


def test_the_audit_service_consumes_the_three_followup_topics_and_handles_each():
    followup_topics = {
        topics.FOLLOWUP_SCHEDULED,
        topics.FOLLOWUP_COMPLETED,
        topics.FOLLOWUP_CANCELLED,
    }
    assert followup_topics <= set(SERVICE.consumes)
    assert {event.topic for event in event_handlers()} == set(SERVICE.consumes)
