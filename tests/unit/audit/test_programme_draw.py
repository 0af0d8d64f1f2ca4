"""The monthly programme's draw: eligibility, quotas by team, and a sample the seed reproduces."""

import math
import random
from collections import Counter
from collections.abc import Iterable, Set
from datetime import date

import pytest

from services.audit.programme_draw import (
    PROGRAMME_RULE,
    Draw,
    DrawRefused,
    DrawRules,
    OpenCase,
    TeamQuota,
    draw_programme,
    team_quotas,
)
from shared.organisation import load_organisation

ORG = load_organisation()
DECEMBER, LAST_DAY = date(2026, 12, 1), date(2026, 12, 31)
MANAGER = {team.id: team.team_manager for team in ORG.teams}
NOTHING: frozenset[str] = frozenset()


def cases_of(team_id: str, count: int, first: int = 0) -> list[OpenCase]:
    return [
        OpenCase(f"CASE-{team_id}-{first + i:03d}", team_id, "S0006", MANAGER[team_id])
        for i in range(count)
    ]


def register(**counts: int) -> list[OpenCase]:
    """Open cases by team, e.g. register(EH_NORTH=3) for three EH-NORTH cases."""
    return [c for team, n in counts.items() for c in cases_of(team.replace("_", "-"), n)]


def draw(
    cases: Iterable[OpenCase],
    size: int = 50,
    minimum: int = 1,
    seed: int = 8123,
    recently: Set[str] = NOTHING,
    allocated: Set[str] = NOTHING,
) -> Draw:
    return draw_programme(
        cases,
        audited_recently=recently,
        in_open_allocation=allocated,
        organisation=ORG,
        rules=DrawRules(DECEMBER, size, minimum, seed),
        month_last_day=LAST_DAY,
    )


def drawn_ids(result: Draw) -> list[str]:
    return [d.case.case_id for d in result.drawn]


def quotas(result: Draw) -> dict[str, int]:
    return {t.team_id: t.quota for t in result.teams if t.quota}


BIG = register(EH_NORTH=40, EH_SOUTH=25, AI_WEST=60, FS_NORTH=12, CL_SOUTH=3, CWCF_WEST=9)


def test_the_same_seed_draws_the_same_cases_whatever_order_they_arrive_in() -> None:
    shuffled = BIG.copy()
    random.Random(1).shuffle(shuffled)
    assert draw(shuffled, size=30) == draw(BIG, size=30)
    assert len(drawn_ids(draw(BIG, size=30))) == 30


def test_another_seed_draws_other_cases_with_the_same_quotas() -> None:
    first, second = draw(BIG, size=30, seed=1), draw(BIG, size=30, seed=2)
    assert drawn_ids(first) != drawn_ids(second)
    assert first.teams == second.teams


def test_quotas_are_proportional_by_largest_remainder_ties_to_the_first_team_id() -> None:
    assert team_quotas({"A": 50, "B": 30, "C": 20}, 10, 1) == ({"A": 5, "B": 3, "C": 2}, set())
    # Shares 3.5, 3.5 and 3: the one seat left goes to A, whose remainder ties with B's.
    assert team_quotas({"B": 7, "A": 7, "C": 6}, 10, 0) == ({"A": 4, "B": 3, "C": 3}, set())


def test_a_team_short_of_the_minimum_is_raised_to_it_and_the_rest_share_what_is_left() -> None:
    # Shares 9.6, 0.2, 0.2: B and C get the minimum of 1, A the remaining 8.
    assert team_quotas({"A": 96, "B": 2, "C": 2}, 10, 1) == ({"A": 8, "B": 1, "C": 1}, {"B", "C"})


def test_raising_some_teams_can_push_another_below_the_minimum() -> None:
    # Shares 6.2, 2.0, 0.9, 0.9 with a minimum of 2: C and D are raised; of the 6 seats left
    # B's share is 6 * 20 / 82 = 1.46, so B is raised too, and A takes the last 4.
    assert team_quotas({"A": 62, "B": 20, "C": 9, "D": 9}, 10, 2) == (
        {"A": 4, "B": 2, "C": 2, "D": 2},
        {"B", "C", "D"},
    )


def test_the_minimum_is_capped_at_what_a_team_has() -> None:
    assert team_quotas({"A": 95, "B": 1, "C": 4}, 10, 2) == ({"A": 7, "B": 1, "C": 2}, {"B", "C"})


def test_a_team_with_no_eligible_cases_gets_nothing_whatever_the_minimum() -> None:
    assert team_quotas({"A": 30, "B": 0}, 10, 3) == ({"A": 10, "B": 0}, set())


def test_every_team_of_the_organisation_is_listed_in_id_order_with_its_figures() -> None:
    result = draw(BIG, size=30, minimum=2)
    assert [t.team_id for t in result.teams] == sorted(team.id for team in ORG.teams)
    assert result.teams[0] == TeamQuota("AI-NORTH", 0, 0, 0)
    # Shares of 30 over 149 eligible: 12.08, 8.05, 5.03, 2.42, 1.81, 0.60; CL-SOUTH and
    # CWCF-WEST are raised to 2, and the other four share 26 seats: 11.39, 7.59, 4.74, 2.28.
    assert quotas(result) == {
        "AI-WEST": 11,
        "EH-NORTH": 8,
        "EH-SOUTH": 5,
        "FS-NORTH": 2,
        "CWCF-WEST": 2,
        "CL-SOUTH": 2,
    }
    assert sum(quotas(result).values()) == 30
    assert Counter(d.case.team_id for d in result.drawn) == quotas(result)
    assert (result.open_cases, result.eligible_cases, result.note) == (149, 149, None)


def test_each_drawn_case_says_why_it_was_drawn() -> None:
    result = draw(BIG, size=30, minimum=2)
    why = {d.case.team_id: d.why_case for d in result.drawn}
    assert (
        why["EH-NORTH"]
        == "Drawn at random (seed 8123) from team EH-NORTH: 8 of its 40 eligible cases"
    )
    assert why["CL-SOUTH"] == (
        "Drawn at random (seed 8123) from team CL-SOUTH: 2 of its 3 eligible cases, "
        "the minimum per team"
    )


def test_recently_audited_allocated_closing_and_unknown_team_cases_are_never_drawn() -> None:
    eligible = cases_of("EH-NORTH", 4)
    closing_in_month = OpenCase("CASE-CLOSING", "EH-NORTH", "S0006", "S0005", LAST_DAY)
    closing_later = OpenCase("CASE-LATER", "EH-NORTH", "S0006", "S0005", date(2027, 1, 1))
    unknown_team = OpenCase("CASE-NOWHERE", "XX-GONE", "S0006", "S0005")
    everything = [*eligible, closing_in_month, closing_later, unknown_team]
    result = draw(everything, recently={eligible[0].case_id}, allocated={eligible[1].case_id})
    assert drawn_ids(result) == [eligible[2].case_id, eligible[3].case_id, "CASE-LATER"]
    assert (result.open_cases, result.eligible_cases) == (7, 3)
    north = next(t for t in result.teams if t.team_id == "EH-NORTH")
    assert north == TeamQuota("EH-NORTH", 6, 3, 3)
    assert "XX-GONE" not in {t.team_id for t in result.teams}


def test_when_the_minimums_alone_exceed_the_size_the_draw_is_refused_naming_the_numbers() -> None:
    sixty_teams = {f"T{i:02d}": 2 for i in range(60)}
    with pytest.raises(DrawRefused) as refused:
        team_quotas(sixty_teams, 50, 1)
    assert refused.value.rule == PROGRAMME_RULE
    [problem] = refused.value.problems
    assert (problem.field, problem.message) == (
        "minimum_per_team",
        "50 cases cannot give each of the 60 teams with eligible cases at least 1: "
        "lower the minimum per team or raise the number",
    )


def test_a_refusal_counts_only_what_small_teams_have() -> None:
    with pytest.raises(DrawRefused) as refused:
        draw(register(EH_NORTH=40, EH_SOUTH=1, AI_WEST=30), size=6, minimum=3)
    assert refused.value.problems[0].message == (
        "6 cases cannot give each of the 3 teams with eligible cases at least 3 "
        "(or all it has: 7 cases in all): lower the minimum per team or raise the number"
    )


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        (DrawRules(date(2026, 12, 2), 50, 1, 1), "month"),
        (DrawRules(DECEMBER, 0, 1, 1), "size"),
        (DrawRules(DECEMBER, 50, -1, 1), "minimum_per_team"),
    ],
)
def test_rules_out_of_range_are_refused_naming_the_field(rules: DrawRules, field: str) -> None:
    with pytest.raises(DrawRefused) as refused:
        draw_programme(
            BIG,
            audited_recently=NOTHING,
            in_open_allocation=NOTHING,
            organisation=ORG,
            rules=rules,
            month_last_day=LAST_DAY,
        )
    assert [p.field for p in refused.value.problems] == [field]


def test_with_fewer_eligible_cases_than_the_size_all_are_drawn_and_the_note_says_so() -> None:
    cases = register(EH_NORTH=5, FS_SOUTH=7)
    result = draw(cases, size=50, minimum=3)
    assert sorted(drawn_ids(result)) == sorted(c.case_id for c in cases)
    assert result.note == "Only 12 eligible cases for a programme of 50: all were drawn"


def test_with_no_eligible_case_nothing_is_drawn_and_the_note_says_so() -> None:
    result = draw([], size=50)
    assert (result.drawn, result.note) == ((), "No case is eligible: nothing was drawn")
    assert [t.quota for t in result.teams] == [0] * len(ORG.teams)


DRAWS = 2000


def test_every_eligible_case_is_drawn_with_the_chance_its_teams_quota_implies() -> None:
    cases = register(EH_NORTH=40, EH_SOUTH=25, AI_WEST=60, FS_NORTH=12, CL_SOUTH=3, CWCF_WEST=9)
    times_drawn: Counter[str] = Counter()
    for seed in range(DRAWS):
        times_drawn.update(drawn_ids(draw(cases, size=30, minimum=2, seed=seed)))
    chance = {t.team_id: t.quota / t.eligible_cases for t in draw(cases, 30, 2).teams if t.quota}
    for case in cases:
        p = chance[case.team_id]
        # The count is binomial(DRAWS, p). A fair draw strays beyond five standard errors with
        # a chance of 6e-7 per case (under 1e-4 over these 149 cases; the seeds are fixed, so it
        # never flakes), while a standard error is at most 0.011 here: a sampler that moves any
        # case's chance by 0.06 or more (say, skipping a team's last case one time in three)
        # fails.
        tolerance = 5 * math.sqrt(p * (1 - p) / DRAWS)
        assert abs(times_drawn[case.case_id] / DRAWS - p) <= tolerance, case.case_id


def test_the_note_counts_one_case_in_the_singular():
    from services.audit.programme_draw import _note

    assert _note(1, 500) == "Only 1 eligible case for a programme of 500: all were drawn"
