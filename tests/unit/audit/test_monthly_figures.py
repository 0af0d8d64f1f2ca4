"""The board's figures against months counted by hand: zero-filled months and groups, grades
by domain, themes with the month before, and small numbers hidden below a service area."""

from datetime import UTC, date, datetime

from services.audit.monthly_figures import (
    AuditFacts,
    Suppression,
    domains_by_month,
    grades_by_month,
    groups_of,
    months_between,
    themes_by_month,
)
from services.audit.stats import Grouping
from shared.events.vocabulary import AuditDomain, Grade
from shared.organisation import load_organisation

ORG = load_organisation()
SHOW_ALL = Suppression(threshold=1)


def fact(day: str, grade: str, themes=(), team="EH-NORTH", area="north", planning=None):
    domains = dict.fromkeys(AuditDomain, Grade(grade))
    if planning:
        domains[AuditDomain.PLANNING] = Grade(planning)
    service_area = ORG.teams_by_id[team].service_area.value
    return AuditFacts(
        graded_at=datetime.fromisoformat(day).replace(tzinfo=UTC),
        overall_grade=Grade(grade),
        domain_grades=domains,
        themes=tuple(themes),
        team_id=team,
        service_area=service_area,
        area=area,
    )


# September: nothing. October: 3 in EH-NORTH (2 good, 1 inadequate), 1 in FS-SOUTH.
# November: 1 outstanding in EH-NORTH. (31 October is in GMT, so 23:30 UTC is still October.)
FACTS = [
    fact("2026-10-02T10:00", "good", ["planning", "voice_of_child"], planning="inadequate"),
    fact("2026-10-09T10:00", "good", ["planning"]),
    fact("2026-10-31T23:30", "inadequate", ["planning", "planning"]),
    fact("2026-10-20T10:00", "requires_improvement", ["visits"], team="FS-SOUTH", area="south"),
    fact("2026-11-03T10:00", "outstanding", ["visits"]),
]
MONTHS = months_between(date(2026, 9, 1), date(2026, 11, 30))


def test_months_between_names_every_month_across_a_year_end():
    assert months_between(date(2026, 11, 15), date(2027, 2, 1)) == [
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
    ]


def test_every_month_and_group_is_shown_even_with_no_audits():
    rows = grades_by_month(FACTS, MONTHS, ["county"], Grouping.COUNTY, SHOW_ALL)
    assert [(r.month, r.total) for r in rows] == [("2026-09", 0), ("2026-10", 4), ("2026-11", 1)]
    september = rows[0]
    assert september.counts == dict.fromkeys(Grade, 0)
    assert september.percentages == dict.fromkeys(Grade, None)
    october = rows[1]
    assert october.counts == {
        Grade.OUTSTANDING: 0,
        Grade.GOOD: 2,
        Grade.REQUIRES_IMPROVEMENT: 1,
        Grade.INADEQUATE: 1,
    }
    assert october.percentages[Grade.GOOD] == 50.0


def test_every_team_of_the_organisation_appears():
    teams = groups_of(ORG, Grouping.TEAM)
    rows = grades_by_month(FACTS, ["2026-10"], teams, Grouping.TEAM, SHOW_ALL)
    assert len(rows) == len(ORG.teams) == 15
    by_team = {r.group: r.total for r in rows}
    assert (by_team["EH-NORTH"], by_team["FS-SOUTH"], by_team["CL-WEST"]) == (3, 1, 0)


def test_each_domain_is_counted_on_its_own():
    rows = domains_by_month(FACTS, ["2026-10"], ["county"], Grouping.COUNTY, SHOW_ALL)
    planning = next(r for r in rows if r.domain is AuditDomain.PLANNING)
    visits = next(r for r in rows if r.domain is AuditDomain.VISITS)
    assert planning.counts[Grade.INADEQUATE] == 2  # the October 2 audit's planning, and Oct 31
    assert planning.counts[Grade.GOOD] == 1
    assert visits.counts[Grade.GOOD] == 2
    assert len(rows) == len(AuditDomain)


def test_themes_count_audits_not_tags_and_carry_the_month_before():
    rows = themes_by_month(FACTS, MONTHS, ["county"], Grouping.COUNTY, SHOW_ALL)
    counts = {(r.month, r.theme): (r.count, r.previous) for r in rows}
    assert counts[("2026-10", "planning")] == (3, 0)  # a theme tagged twice counts once
    assert counts[("2026-11", "planning")] == (0, 3)
    assert counts[("2026-10", "visits")] == (1, 0)
    assert counts[("2026-11", "visits")] == (1, 1)
    assert counts[("2026-09", "voice_of_child")] == (0, None)
    assert {r.theme for r in rows} == {"planning", "visits", "voice_of_child"}


def test_small_numbers_are_hidden_below_a_service_area_and_shown_above():
    hide = Suppression(threshold=3)
    teams = grades_by_month(FACTS, ["2026-10"], ["EH-NORTH", "FS-SOUTH"], Grouping.TEAM, hide)
    north, south = teams
    assert north.total == 3
    assert north.counts[Grade.GOOD] is None  # 2 good audits in one team: hidden
    assert north.counts[Grade.INADEQUATE] is None
    assert north.counts[Grade.OUTSTANDING] == 0
    assert north.suppressed
    assert south.total is None
    assert south.percentages[Grade.REQUIRES_IMPROVEMENT] is None
    areas = grades_by_month(FACTS, ["2026-10"], ["early_help"], Grouping.SERVICE_AREA, hide)
    assert areas[0].counts[Grade.INADEQUATE] == 1  # a service area is shown whole
    assert not areas[0].suppressed
    themes = themes_by_month(FACTS, ["2026-10"], ["north"], Grouping.AREA, hide)
    assert {(r.theme, r.count) for r in themes} == {
        ("planning", 3),
        ("voice_of_child", None),
        ("visits", 0),
    }
