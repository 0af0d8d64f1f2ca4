from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.audit.domain import (
    AuditForm,
    AuditRejected,
    CaseAllocation,
    EarlierAudit,
    check_audit,
)
from services.audit.submission import (
    GradedAudit,
    IdempotencyKeyReused,
    audit_events,
    check_replay,
    fingerprint,
    graded,
)
from shared.errors import RuleBroken
from shared.events import AuditGraded, InadequateFound
from shared.events.vocabulary import AuditDomain, AuditKind, Grade, ServiceArea
from shared.organisation import load_organisation

ORG = load_organisation()
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
AUDITOR = "S0003"  # head of service, early help, trained
TEAM_MANAGER_EH_NORTH = "S0005"
PRACTITIONER_EH_NORTH = "S0006"
UNTRAINED_TEAM_MANAGER = next(
    s.id for s in ORG.staff if s.role == "team_manager" and not s.trained_auditor
)
ALL_DOMAINS = dict.fromkeys([d.value for d in AuditDomain], "requires_improvement")


def form(**changes) -> AuditForm:
    fields = {
        "case_id": "CASE-1",
        "auditor_id": AUDITOR,
        "team_id": "EH-NORTH",
        "practitioner_id": PRACTITIONER_EH_NORTH,
        "domain_grades": ALL_DOMAINS,
        "overall_grade": "requires_improvement",
        "voice_of_child": {"evidenced": True},
        "graded_at": "2026-11-25T10:00:00Z",
    }
    fields.update(changes)
    return AuditForm.model_validate(fields)


def problems(**kwargs) -> dict[str, str]:
    with pytest.raises(AuditRejected) as rejected:
        check_audit(kwargs.pop("form"), ORG, kwargs.get("allocation"), kwargs.get("earlier"), NOW)
    return {p.field: p.message for p in rejected.value.problems}


def test_a_complete_audit_derives_service_area_area_and_team_manager_from_the_team():
    checked = check_audit(form(), ORG, None, None, NOW)
    assert checked.team.service_area == "early_help"
    assert checked.team.area == "north"
    assert checked.team_manager_id == TEAM_MANAGER_EH_NORTH


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "overall_grade",
            "terrible",
            "Input should be 'outstanding', 'good', 'requires_improvement' or 'inadequate'",
        ),
        ("domain_grades", {"assessment": "good"}, "missing grades for planning, visits"),
        ("domain_grades", {**ALL_DOMAINS, "housing": "good"}, "Input should be 'assessment'"),
        ("graded_at", "2026-11-25T10:00:00", "Input should have timezone info"),
        ("case_id", "Jane Smith", "String should match pattern"),
        ("themes", ["Voice Of Child"], "String should match pattern"),
    ],
)
def test_malformed_forms_are_refused_naming_the_field(field, value, message):
    with pytest.raises(ValidationError) as caught:
        form(**{field: value})
    assert message in str(caught.value)


def test_grading_in_the_future_is_refused():
    assert problems(form=form(graded_at="2026-11-27T09:00:00Z")) == {
        "graded_at": "must not be in the future"
    }


def test_a_past_grading_date_is_accepted():
    assert check_audit(form(graded_at="2026-04-03T09:00:00Z"), ORG, None, None, NOW)


def test_unknown_team_is_refused():
    assert problems(form=form(team_id="NOWHERE-1")) == {"team_id": "unknown team 'NOWHERE-1'"}


def test_auditor_must_be_trained():
    found = problems(form=form(auditor_id=UNTRAINED_TEAM_MANAGER))
    assert found == {
        "auditor_id": f"{UNTRAINED_TEAM_MANAGER} is not eligible to audit: auditors "
        "are team manager level or above and trained"
    }


def test_practitioners_cannot_audit():
    assert "not eligible" in problems(form=form(auditor_id=PRACTITIONER_EH_NORTH))["auditor_id"]


def test_unknown_auditor_is_refused():
    assert problems(form=form(auditor_id="S7777")) == {"auditor_id": "unknown staff member 'S7777'"}


def test_every_problem_is_reported_at_once():
    found = problems(
        form=form(auditor_id="S7777", team_id="NOWHERE-1", graded_at="2027-01-01T00:00:00Z")
    )
    assert set(found) == {"auditor_id", "team_id", "graded_at"}


def test_reaudit_must_point_at_an_existing_audit_of_the_same_case():
    reaudit = form(audit_kind="reaudit", reaudit_of="AUD-1")
    assert problems(form=reaudit) == {"reaudit_of": "no audit 'AUD-1'"}
    assert problems(form=reaudit, earlier=EarlierAudit("AUD-1", "CASE-2")) == {
        "reaudit_of": "audit AUD-1 is for another case"
    }
    assert check_audit(reaudit, ORG, None, EarlierAudit("AUD-1", "CASE-1"), NOW)


def test_reaudit_needs_reaudit_of_and_other_kinds_must_not_have_it():
    assert problems(form=form(audit_kind="reaudit")) == {"reaudit_of": "required for a re-audit"}
    assert problems(form=form(reaudit_of="AUD-1")) == {
        "reaudit_of": "only a re-audit may point at an earlier audit"
    }


def test_case_register_fills_in_the_team_fields():
    allocation = CaseAllocation("CASE-1", "FS-SOUTH", "S0024", "S0023", open=True)
    checked = check_audit(form(team_id=None, practitioner_id=None), ORG, allocation, None, NOW)
    assert (checked.team.id, checked.practitioner_id, checked.team_manager_id) == (
        "FS-SOUTH",
        "S0024",
        "S0023",
    )


def test_a_team_other_than_the_registered_one_is_refused():
    allocation = CaseAllocation("CASE-1", "FS-SOUTH", "S0024", "S0023", open=True)
    assert problems(form=form(), allocation=allocation) == {
        "team_id": "case CASE-1 is allocated to team FS-SOUTH"
    }


def test_a_case_unknown_to_the_register_needs_its_team_fields():
    found = problems(form=form(team_id=None, practitioner_id=None))
    assert found["team_id"] == "required: the case register does not know this case"
    assert found["practitioner_id"] == "required: the case register does not know this case"


def _audit(grade: str) -> GradedAudit:
    return GradedAudit(
        id="AUD-9",
        case_id="CASE-1",
        audit_kind=AuditKind.LEARNING,
        reaudit_of=None,
        service_area=ServiceArea.EARLY_HELP,
        team_id="EH-NORTH",
        area="north",
        practitioner_id="S0006",
        team_manager_id="S0005",
        auditor_id=AUDITOR,
        overall_grade=Grade(grade),
        domain_grades={AuditDomain(d): Grade(g) for d, g in ALL_DOMAINS.items()},
        voice_of_child_evidenced=True,
        voice_of_child_note=None,
        could_be_better_if=("x",),
        themes=("visits",),
        graded_at=NOW,
    )


def test_an_inadequate_audit_publishes_audit_graded_and_inadequate_found_by_the_auditor():
    graded, found = audit_events(_audit("inadequate"))
    assert isinstance(graded, AuditGraded)
    assert isinstance(found, InadequateFound)
    assert found.found_by == "auditor"
    assert (found.audit_id, found.service_area, found.graded_at) == ("AUD-9", "early_help", NOW)


@pytest.mark.parametrize("grade", ["outstanding", "good", "requires_improvement"])
def test_other_grades_publish_audit_graded_only(grade):
    assert [type(e) for e in audit_events(_audit(grade))] == [AuditGraded]


def test_a_checked_audit_is_graded_with_its_teams_service_area_area_and_people():
    checked = check_audit(form(themes=["visits"]), ORG, None, None, NOW)
    audit = graded(checked, "AUD-1")
    assert (audit.id, audit.service_area, audit.team_id, audit.area) == (
        "AUD-1",
        ServiceArea.EARLY_HELP,
        "EH-NORTH",
        "north",
    )
    assert (audit.practitioner_id, audit.team_manager_id) == (
        PRACTITIONER_EH_NORTH,
        TEAM_MANAGER_EH_NORTH,
    )
    assert audit.overall_grade is Grade.REQUIRES_IMPROVEMENT
    assert audit.domain_grades[AuditDomain.VISITS] is Grade.REQUIRES_IMPROVEMENT
    assert audit.themes == ("visits",)


def test_the_events_of_an_audit_carry_its_grades_and_people():
    graded_event, found = audit_events(_audit("inadequate"))
    assert isinstance(graded_event, AuditGraded)
    assert (graded_event.audit_id, graded_event.team_manager_id, graded_event.graded_at) == (
        "AUD-9",
        "S0005",
        NOW,
    )
    assert graded_event.domain_grades == dict.fromkeys(AuditDomain, Grade.REQUIRES_IMPROVEMENT)
    assert (graded_event.could_be_better_if, graded_event.themes) == (("x",), ("visits",))
    assert isinstance(found, InadequateFound)
    assert found.team_id == "EH-NORTH"


def test_rule_problems_answer_as_audit_rule_errors():
    with pytest.raises(RuleBroken) as rejected:
        check_audit(form(team_id="NOWHERE-1"), ORG, None, None, NOW)
    assert rejected.value.rule == "audit_rule"
    assert [(p.where, p.field) for p in rejected.value.problems] == [("body", "team_id")]


def test_a_key_sent_again_with_the_same_form_replays():
    check_replay(form(), fingerprint(form()))


def test_a_key_sent_again_with_a_different_form_is_refused_naming_the_header():
    with pytest.raises(IdempotencyKeyReused) as reused:
        check_replay(form(overall_grade="good"), fingerprint(form()))
    assert reused.value.rule == "audit_rule"
    [problem] = reused.value.problems
    assert (problem.where, problem.field, problem.message) == (
        "header",
        "Idempotency-Key",
        "already used for a different audit submission",
    )
