"""The demo's open cases (tooling.demo_cases) give the QA lead a month they can draw."""

from datetime import date

from services.audit.programme_draw import DrawRules, OpenCase, draw_programme
from shared.events.vocabulary import PlanType
from shared.organisation import load_organisation
from tooling.demo_cases import CASES_PER_TEAM, demo_case_openings

ORGANISATION = load_organisation()
TODAY = date(2026, 12, 2)


def test_every_team_holds_its_cases_with_its_own_people_and_its_areas_plan():
    openings = demo_case_openings(ORGANISATION, TODAY)
    assert len(openings) == CASES_PER_TEAM * len(ORGANISATION.teams)
    assert len({o.case_id for o in openings}) == len(openings)
    for opening in openings:
        team = ORGANISATION.teams_by_id[opening.team_id]
        assert ORGANISATION.staff_by_id[opening.practitioner_id].team == team.id
        assert opening.team_manager_id == team.team_manager
        assert opening.opened_on < TODAY
    plans = {ORGANISATION.teams_by_id[o.team_id].service_area: o.plan_type for o in openings}
    assert plans["children_we_care_for"] is PlanType.CHILD_WE_CARE_FOR


def test_the_same_cases_every_run_and_a_full_months_draw_from_them():
    openings = demo_case_openings(ORGANISATION, TODAY)
    assert openings == demo_case_openings(ORGANISATION, TODAY)
    cases = [
        OpenCase(o.case_id, o.team_id, o.practitioner_id, o.team_manager_id, o.closing_on)
        for o in openings
    ]
    draw = draw_programme(
        cases,
        audited_recently=set(),
        in_open_allocation=set(),
        organisation=ORGANISATION,
        rules=DrawRules(month=date(2026, 12, 1), size=50, minimum_per_team=1, seed=1),
        month_last_day=date(2026, 12, 31),
    )
    assert len(draw.drawn) == 50
    assert draw.eligible_cases < len(cases)  # some close within the month
    assert all(team.quota >= 1 for team in draw.teams)
