from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.audit.domain import (
    AuditForm,
    AuditRejected,
    EarlierAudit,
    check_audit,
)
from services.audit.people import CaseAllocation
from services.audit.submission import (
    GradedAudit,
    IdempotencyKeyReused,
    audit_events,
    check_replay,
    fingerprint,
    graded,
)
from shared.confirmations import NeedsConfirmation
from shared.errors import RuleBroken
from shared.events import AuditGraded, InadequateFound
from shared.events.vocabulary import AuditDomain, AuditKind, Grade, ServiceArea
from shared.organisation import load_organisation
from tests.unit.audit.followups import reaudit_step

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
    at_its_step = EarlierAudit("AUD-1", "CASE-1", reaudit_step(owner_id=AUDITOR))
    assert check_audit(reaudit, ORG, None, at_its_step, NOW)


def test_reaudit_needs_reaudit_of_and_other_kinds_must_not_have_it():
    assert problems(form=form(audit_kind="reaudit")) == {"reaudit_of": "required for a re-audit"}
    assert problems(form=form(reaudit_of="AUD-1")) == {
        "reaudit_of": "only a re-audit may point at an earlier audit"
    }


def test_case_register_fills_in_the_team_fields():
    allocation = CaseAllocation("CASE-1", "AI-SOUTH", "S0024", "S0023", open=True)
    checked = check_audit(form(team_id=None, practitioner_id=None), ORG, allocation, None, NOW)
    assert (checked.team.id, checked.practitioner_id, checked.team_manager_id) == (
        "AI-SOUTH",
        "S0024",
        "S0023",
    )


def test_a_team_other_than_the_registered_one_is_refused():
    allocation = CaseAllocation("CASE-1", "AI-SOUTH", "S0024", "S0023", open=True)
    assert problems(form=form(), allocation=allocation) == {
        "team_id": "case CASE-1 is allocated to team AI-SOUTH"
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
    # The learning points stay in the audit service (shared.events.data: WithdrawnTexts).
    assert (graded_event.could_be_better_if, graded_event.themes) == ((), ("visits",))
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


# --- the people an audit names belong to its team; the auditor does not -------------------


def test_a_practitioner_of_another_team_is_refused():
    assert problems(form=form(practitioner_id="S0010")) == {
        "practitioner_id": "S0010 is not in team EH-NORTH, the audit's team"
    }


def test_a_team_manager_of_another_team_is_refused():
    assert problems(form=form(team_manager_id="S0009")) == {
        "team_manager_id": "S0009 is not in team EH-NORTH, the audit's team"
    }


def test_the_register_naming_people_of_another_team_is_refused_too():
    allocation = CaseAllocation("CASE-1", "EH-NORTH", "S0010", "S0005", open=True)
    found = problems(form=form(team_id=None, practitioner_id=None), allocation=allocation)
    assert found == {"practitioner_id": "S0010 is not in team EH-NORTH, the audit's team"}


def test_the_cases_own_team_manager_cannot_audit_it():
    assert problems(form=form(auditor_id=TEAM_MANAGER_EH_NORTH)) == {
        "auditor_id": "you manage the team that holds this case: auditors audit other teams' work"
    }


def test_a_trained_manager_of_another_team_may_audit_it():
    assert check_audit(form(auditor_id="S0009"), ORG, None, None, NOW)


# --- when it was graded ------------------------------------------------------------------------


def test_a_grading_a_few_minutes_ahead_of_our_clock_is_accepted():
    assert check_audit(form(graded_at="2026-11-26T12:04:00Z"), ORG, None, None, NOW)


@pytest.mark.parametrize("year", ["1901", "0001", "2025"])
def test_a_grading_more_than_a_year_back_is_refused(year):
    assert problems(form=form(graded_at=f"{year}-11-25T10:00:00Z")) == {
        "graded_at": "must be within the last year: record an audit when it is done, "
        "and check the year"
    }


def test_a_grading_just_under_a_year_back_is_accepted():
    assert check_audit(form(graded_at="2025-11-27T10:00:00Z"), ORG, None, None, NOW)


# --- limits on the free text and lists ----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("could_be_better_if", ["a point"] * 21, "List should have at most 20 items"),
        ("could_be_better_if", ["x" * 1001], "String should have at most 1000 characters"),
        ("could_be_better_if", ["   "], "String should have at least 1 character"),
        ("themes", [f"theme-{n}" for n in range(21)], "List should have at most 20 items"),
        ("themes", ["visits", "visits"], "themes: each theme once"),
        ("confirmed", ["personal_data"] * 11, "List should have at most 10 items"),
        ("confirmed", ["Not A Code"], "String should match pattern"),
    ],
)
def test_lists_and_their_items_are_limited(field, value, message):
    with pytest.raises(ValidationError) as caught:
        form(**{field: value})
    assert message in str(caught.value)


def test_a_voice_of_the_child_note_is_limited_to_2000_characters():
    with pytest.raises(ValidationError) as caught:
        form(voice_of_child={"evidenced": False, "note": "x" * 2001})
    assert "String should have at most 2000 characters" in str(caught.value)


# --- cautions the auditor confirms --------------------------------------------------------------


def cautions(**changes) -> dict[str, str]:
    with pytest.raises(NeedsConfirmation) as asked:
        check_audit(form(**changes), ORG, None, None, NOW)
    return {caution.field: caution.code for caution in asked.value.cautions}


@pytest.mark.parametrize(
    ("overall", "domains"),
    [
        ("outstanding", "inadequate"),
        ("good", "inadequate"),
        ("outstanding", "requires_improvement"),
        ("inadequate", "good"),
        ("inadequate", "outstanding"),
    ],
)
def test_an_overall_grade_far_from_every_domain_asks_to_be_confirmed(overall, domains):
    changes = {"overall_grade": overall, "domain_grades": dict.fromkeys(ALL_DOMAINS, domains)}
    assert cautions(**changes) == {"overall_grade": "overall_grade_against_domains"}
    confirmed = form(**changes, confirmed=["overall_grade_against_domains"])
    assert check_audit(confirmed, ORG, None, None, NOW).form.overall_grade == overall


def test_an_overall_grade_near_one_domain_needs_no_confirmation():
    domains = dict.fromkeys(ALL_DOMAINS, "inadequate") | {"visits": "requires_improvement"}
    assert check_audit(form(overall_grade="good", domain_grades=domains), ORG, None, None, NOW)


def test_learning_that_looks_like_personal_data_asks_to_be_confirmed_naming_the_point():
    points = ["Plans name who does what by when", "Record what Kayden said about home"]
    assert cautions(could_be_better_if=points) == {"could_be_better_if[1]": "personal_data"}
    kept = form(could_be_better_if=points, confirmed=["personal_data"])
    assert check_audit(kept, ORG, None, None, NOW).form.could_be_better_if == points


def test_a_note_with_a_postcode_asks_to_be_confirmed():
    note = {"evidenced": False, "note": "Visited at home, LE1 5WW"}
    assert cautions(voice_of_child=note) == {"voice_of_child.note": "personal_data"}


def test_broken_rules_are_answered_before_cautions():
    found = problems(form=form(team_id="NOWHERE-1", could_be_better_if=["Ask Kayden's mum"]))
    assert found == {"team_id": "unknown team 'NOWHERE-1'"}
