"""The demo history `qa run` seeds: the report's grade shape, valid audits, a council whose
follow-ups mostly work, the same every time."""

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from services.audit.domain import AuditForm, EarlierAudit, check_audit
from services.audit.reaudit import ReauditAssignment
from services.moderation.domain import ModerationForm
from services.scheduler.conversation import ConversationForm
from services.scheduler.domain import conversation_due, reaudit_due
from shared.calendar import WorkingDayCalendar, uk_day
from shared.events.vocabulary import AuditKind, FollowUpAction, Grade
from shared.organisation import DEMO_ORGANISATION_FILE, load_organisation
from tooling.demo import (
    Reaudit,
    conversation_body,
    conversation_plans,
    demo_audits,
    moderated_grade,
    reaudit,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CALENDAR = WorkingDayCalendar()


@pytest.fixture(scope="module")
def organisation():
    return load_organisation(DEMO_ORGANISATION_FILE)


@pytest.fixture(scope="module")
def audits(organisation):
    return demo_audits(organisation, NOW)


def test_four_months_up_to_now_of_a_modest_size(audits):
    months = Counter(audit.body["graded_at"][:7] for audit in audits)
    assert sorted(months) == ["2026-08", "2026-09", "2026-10", "2026-11"]
    assert all(42 <= months[m] <= 50 for m in ("2026-08", "2026-09", "2026-10"))
    assert 0 < months["2026-11"] <= 50
    assert len(audits) <= 200
    assert max(audit.body["graded_at"] for audit in audits) <= "2026-11-25T12:00:00Z"


def test_grades_have_the_report_shape_mostly_requires_improvement(audits):
    grades = Counter(audit.body["overall_grade"] for audit in audits)
    share = {grade: count / len(audits) for grade, count in grades.items()}
    assert 0.5 < share["requires_improvement"] < 0.7
    assert 0.2 < share["good"] < 0.32
    assert 0.05 < share["inadequate"] < 0.15
    assert 0.02 < share["outstanding"] < 0.08
    assert share["inadequate"] > share["outstanding"]


def test_every_demo_audit_meets_the_audit_services_rules(audits, organisation):
    for audit in audits:
        form = AuditForm.model_validate(audit.body)
        checked = check_audit(form, organisation, allocation=None, earlier=None, now=NOW)
        assert checked.team.id == audit.body["team_id"]
        assert audit.auditor_id == form.auditor_id
        assert form.auditor_id != checked.team_manager_id, "nobody audits their own team"
        assert form.audit_kind is not AuditKind.REAUDIT


def test_the_same_months_come_out_the_same_and_keys_and_cases_are_unique(audits, organisation):
    again = demo_audits(organisation, NOW)
    assert again == audits
    assert len({audit.key for audit in audits}) == len(audits)
    assert len({audit.body["case_id"] for audit in audits}) == len(audits)


def test_a_later_run_keeps_earlier_audits_and_adds_only_newly_past_ones(audits, organisation):
    later = demo_audits(organisation, datetime(2026, 11, 30, 18, 0, tzinfo=UTC))
    by_key = {audit.key: audit for audit in later}
    assert all(by_key[audit.key] == audit for audit in audits)
    assert len(later) > len(audits)


def test_no_names_only_references_in_what_is_posted(audits, organisation):
    names = {part for member in organisation.staff for part in member.name.split()}
    for audit in audits:
        text = str(audit.body)
        assert not any(name in text for name in names), audit.key


def test_no_demo_is_a_flag_of_qa_run_and_the_demo_is_on_by_default():
    from tooling.cli import build_parser

    assert build_parser().parse_args(["run"]).demo is True
    assert build_parser().parse_args(["run", "--no-demo"]).demo is False


# --- the history after the audits: conversations, re-audits, moderations ---------------------


@pytest.fixture(scope="module")
def plans(audits):
    return conversation_plans(audits, NOW)


def test_conversations_are_planned_for_the_past_months_inadequate_audits_only(plans, audits):
    past_inadequate = {
        a.key
        for a in audits
        if a.body["overall_grade"] == "inadequate" and a.body["graded_at"] < "2026-11"
    }
    assert {plan.audit.key for plan in plans} == past_inadequate
    assert len(past_inadequate) >= 12, "three past months of about five each"
    assert conversation_plans(audits, NOW) == plans


def test_most_conversations_are_on_time_and_each_past_month_has_a_late_one(plans):
    by_month = Counter(plan.audit.body["graded_at"][:7] for plan in plans)
    late = Counter(plan.audit.body["graded_at"][:7] for plan in plans if plan.late)
    assert sorted(by_month) == ["2026-08", "2026-09", "2026-10"]
    for month, count in by_month.items():
        assert late[month] == (1 if count >= 4 else 0), month
        assert (count - late[month]) / count >= 0.75


def test_held_on_is_a_working_day_within_five_working_days_or_a_few_after(plans):
    today = uk_day(NOW)
    for plan in plans:
        grading_day = uk_day(datetime.fromisoformat(plan.audit.body["graded_at"]))
        due = conversation_due(grading_day, CALENDAR)
        held_on = plan.held_on(due, today, CALENDAR)
        assert held_on is not None, plan.audit.key
        assert CALENDAR.is_working_day(held_on)
        assert grading_day < held_on <= today
        if plan.late:
            assert 1 <= CALENDAR.working_days_between(due, held_on) <= 4
        else:
            assert held_on <= due
        assert plan.held_on(due, today, CALENDAR) == held_on, "the same every time"


def test_a_conversation_not_yet_due_is_held_by_today_and_a_late_one_waits_its_day(plans):
    on_time = next(plan for plan in plans if not plan.late)
    grading_day = uk_day(datetime.fromisoformat(on_time.audit.body["graded_at"]))
    due = conversation_due(grading_day, CALENDAR)
    early = CALENDAR.next_working_day_after(grading_day)
    assert on_time.held_on(due, early, CALENDAR) == early
    assert on_time.held_on(due, grading_day, CALENDAR) is None, "nothing before the grading day"
    late = next(plan for plan in plans if plan.late)
    grading_day = uk_day(datetime.fromisoformat(late.audit.body["graded_at"]))
    due = conversation_due(grading_day, CALENDAR)
    assert late.held_on(due, due, CALENDAR) is None, "its late day has not come yet"


def test_the_conversation_is_recorded_by_the_head_of_service_with_the_people_of_the_case(
    plans, organisation
):
    for plan in plans:
        body = conversation_body(plan.audit, organisation, date(2026, 10, 1))
        form = ConversationForm.model_validate(body)
        team = organisation.teams_by_id[plan.audit.body["team_id"]]
        assert form.recorded_by == organisation.leads_of(team.service_area).head_of_service
        assert set(form.attendees) >= {team.team_manager, plan.audit.body["practitioner_id"]}
        assert all(person in organisation.staff_by_id for person in form.attendees)
        names = {part for member in organisation.staff for part in member.name.split()}
        assert not any(name in " ".join(form.agreed_actions) for name in names)


def reaudits_of(plans, organisation, now=NOW):
    """The re-audit of each plan as the seeding would post it (None when not yet)."""
    done = {}
    for plan in plans:
        grading_day = uk_day(datetime.fromisoformat(plan.audit.body["graded_at"]))
        held_on = plan.held_on(conversation_due(grading_day, CALENDAR), uk_day(now), CALENDAR)
        due = reaudit_due(held_on, CALENDAR)
        planned = Reaudit(plan.audit, f"AUD-{plan.audit.key}", held_on, due)
        done[plan.audit.key] = (planned, reaudit(planned, organisation, now, CALENDAR))
    return done


def test_re_audits_once_due_mostly_on_time_and_improved_the_recent_ones_left_open(
    plans, organisation
):
    done = reaudits_of(plans, organisation)
    posted = {key: r for key, (_, r) in done.items() if r is not None}
    assert 0 < len(posted) < len(plans), "the oldest re-audited, the most recent still open"
    on_time = improved = 0
    for key, (planned, reaudited) in done.items():
        if planned.due_on >= uk_day(NOW):
            assert reaudited is None, "not due yet: left to the auditor"
            continue
        if reaudited is None:
            continue  # late, and its day has not come
        day = uk_day(datetime.fromisoformat(reaudited.body["graded_at"]))
        assert CALENDAR.is_working_day(day)
        assert planned.held_on < day < uk_day(NOW)
        on_time += day <= planned.due_on
        improved += reaudited.body["overall_grade"] != "inadequate"
        assert reaudited.key == f"{key}-reaudit"
    assert on_time / len(posted) >= 0.6
    assert improved / len(posted) >= 0.6


def test_every_re_audit_meets_the_audit_services_rules(plans, organisation):
    for planned, reaudited in reaudits_of(plans, organisation).values():
        if reaudited is None:
            continue
        form = AuditForm.model_validate(reaudited.body)
        step = ReauditAssignment(
            planned.audit_id,
            "FU-1",
            FollowUpAction.REAUDIT,
            planned.audit.auditor_id,
            open=True,
            as_of=NOW,
        )
        earlier = EarlierAudit(planned.audit_id, planned.audit.body["case_id"], step)
        check_audit(form, organisation, allocation=None, earlier=earlier, now=NOW)
        assert form.audit_kind is AuditKind.REAUDIT
        assert form.reaudit_of == planned.audit_id
        assert form.auditor_id == planned.audit.auditor_id, "the re-audit is the auditor's"
        assert form.practitioner_id == planned.audit.body["practitioner_id"]


def test_re_audits_come_out_the_same_every_time(plans, organisation):
    assert reaudits_of(plans, organisation) == reaudits_of(plans, organisation)


def test_moderators_record_most_mostly_agreeing_and_always_confirm_inadequate(audits):
    decided = {a.key: moderated_grade(a.key, Grade(a.body["overall_grade"])) for a in audits}
    recorded = {key: d for key, d in decided.items() if d is not None}
    assert 0.75 < len(recorded) / len(audits) < 0.95, "most, not all"
    by_key = {a.key: a for a in audits}
    agreed = 0
    for key, (grade, rationale) in recorded.items():
        given = Grade(by_key[key].body["overall_grade"])
        form = ModerationForm.model_validate(
            {
                "moderator_id": "S0000",
                "moderated_grade": grade,
                "rationale": rationale,
                "request_id": f"qa-demo-moderation-{key}",
            }
        )
        assert (form.rationale is None) == (grade is given), "a rationale when they differ"
        if given is Grade.INADEQUATE:
            assert grade is Grade.INADEQUATE, "the finding stands, so its follow-up does"
        assert grade is given or grade is not Grade.INADEQUATE
        agreed += grade is given
    assert 0.7 < agreed / len(recorded) < 0.95
    assert decided == {
        a.key: moderated_grade(a.key, Grade(a.body["overall_grade"])) for a in audits
    }
