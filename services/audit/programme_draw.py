"""The monthly programme's draw: which open cases are audited this month, and why. Pure.

A case is eligible when the organisation knows its team, it was not audited in the twelve months
before the month (the caller says which were), it is not already in an open allocation, and it
is not planned to close by the month's last day. Each team's quota is its share of the size in
proportion to its eligible cases (largest remainder; equal remainders go to the team id sorting
first), raised to `minimum_per_team` where the share falls short, never above what the team has;
the other teams then share what is left the same way. When the minimums alone need more than the
size the draw is refused; when there are no more eligible cases than the size, all are drawn.

Within a team the quota is a uniform sample of its case ids in sorted order, drawn by
`random.Random(f"{seed}:{team_id}")`: the seed alone reproduces the draw, whatever order the
cases arrive in, and each case's chance is exactly its team's quota over its eligible cases.
"""

import random
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from shared.errors import FieldProblem, RuleBroken
from shared.organisation import Organisation

PROGRAMME_RULE = "programme_rule"


@dataclass(frozen=True)
class OpenCase:
    """An open case of the register as the draw sees it (case ids are unique)."""

    case_id: str
    team_id: str
    practitioner_id: str
    team_manager_id: str
    closing_on: date | None = None


@dataclass(frozen=True)
class DrawRules:
    month: date
    """The first day of the month drawn."""
    size: int
    minimum_per_team: int
    seed: int


@dataclass(frozen=True)
class TeamQuota:
    team_id: str
    open_cases: int
    eligible_cases: int
    quota: int


@dataclass(frozen=True)
class DrawnCase:
    case: OpenCase
    why_case: str


@dataclass(frozen=True)
class Draw:
    rules: DrawRules
    teams: tuple[TeamQuota, ...]
    """Every team of the organisation, sorted by id; cases of unknown teams count only in
    `open_cases`."""
    drawn: tuple[DrawnCase, ...]
    """Sorted by team id, then case id."""
    open_cases: int
    eligible_cases: int
    note: str | None


class DrawRefused(RuleBroken):
    """The rules cannot be met; each problem names the parameter to change."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(PROGRAMME_RULE, problems)


def draw_programme(
    open_cases: Iterable[OpenCase],
    *,
    audited_recently: Set[str],
    in_open_allocation: Set[str],
    organisation: Organisation,
    rules: DrawRules,
    month_last_day: date,
) -> Draw:
    """Draw the month's cases by team quota, or raise `DrawRefused` naming what to change."""
    _check(rules)
    cases = sorted(open_cases, key=_case_id)
    excluded = audited_recently | in_open_allocation
    by_team: dict[str, list[OpenCase]] = {team.id: [] for team in organisation.teams}
    opened = dict.fromkeys(by_team, 0)
    for case in (c for c in cases if c.team_id in by_team):
        opened[case.team_id] += 1
        if case.case_id not in excluded and not _closing(case, month_last_day):
            by_team[case.team_id].append(case)
    counts = {team_id: len(members) for team_id, members in by_team.items()}
    quotas, raised = team_quotas(counts, rules.size, rules.minimum_per_team)
    drawn = [
        DrawnCase(case, _why_case(rules, team_id, quotas[team_id], counts[team_id], raised))
        for team_id in sorted(by_team)
        for case in _sample(by_team[team_id], quotas[team_id], f"{rules.seed}:{team_id}")
    ]
    teams = tuple(TeamQuota(t, opened[t], counts[t], quotas[t]) for t in sorted(by_team))
    eligible = sum(counts.values())
    return Draw(rules, teams, tuple(drawn), len(cases), eligible, _note(eligible, rules.size))


def team_quotas(
    eligible: Mapping[str, int], size: int, minimum: int
) -> tuple[dict[str, int], set[str]]:
    """Each team's quota of `size`, and the teams raised to the minimum above their share."""
    if sum(eligible.values()) <= size:
        return dict(eligible), set()
    floors = {team: min(minimum, count) for team, count in eligible.items()}
    needed = sum(floors.values())
    if needed > size:
        raise DrawRefused([_minimums_exceed(size, minimum, eligible, needed)])
    raised: set[str] = set()
    while True:  # raising a team leaves less for the rest, which may push another short
        free = {team: n for team, n in eligible.items() if n and team not in raised}
        seats = size - sum(floors[team] for team in raised)
        total = sum(free.values())
        short = {team for team, n in free.items() if Fraction(seats * n, total) < floors[team]}
        if not short:
            break
        raised |= short
    quotas = dict.fromkeys(eligible, 0) | {team: floors[team] for team in raised}
    return quotas | _largest_remainder(free, seats), raised


def _largest_remainder(counts: Mapping[str, int], seats: int) -> dict[str, int]:
    total = sum(counts.values())
    exact = {team: Fraction(seats * n, total) for team, n in counts.items()}
    quotas = {team: int(share) for team, share in exact.items()}
    by_remainder = sorted(counts, key=lambda team: (quotas[team] - exact[team], team))
    for team in by_remainder[: seats - sum(quotas.values())]:
        quotas[team] += 1
    return quotas


def _sample(cases: list[OpenCase], quota: int, seed: str) -> list[OpenCase]:
    # Reproducible from the recorded seed on purpose; the seed itself comes from `secrets`.
    return sorted(random.Random(seed).sample(cases, quota), key=_case_id)  # noqa: S311


def _case_id(case: OpenCase) -> str:
    return case.case_id


def _closing(case: OpenCase, month_last_day: date) -> bool:
    return case.closing_on is not None and case.closing_on <= month_last_day


def _check(rules: DrawRules) -> None:
    problems = [
        FieldProblem(field, message)
        for field, broken, message in (
            ("month", rules.month.day != 1, "must be the first day of a month"),
            ("size", rules.size < 1, "must be at least 1"),
            ("minimum_per_team", rules.minimum_per_team < 0, "must be 0 or more"),
        )
        if broken
    ]
    if problems:
        raise DrawRefused(problems)


def _minimums_exceed(
    size: int, minimum: int, eligible: Mapping[str, int], needed: int
) -> FieldProblem:
    teams = sum(1 for n in eligible.values() if n)
    capped = f" (or all it has: {needed} cases in all)" if needed != teams * minimum else ""
    return FieldProblem(
        "minimum_per_team",
        f"{size} cases cannot give each of the {teams} teams with eligible cases at least "
        f"{minimum}{capped}: lower the minimum per team or raise the number",
    )


def _why_case(rules: DrawRules, team_id: str, quota: int, eligible: int, raised: Set[str]) -> str:
    minimum = ", the minimum per team" if team_id in raised else ""
    return (
        f"Drawn at random (seed {rules.seed}) from team {team_id}: "
        f"{quota} of its {eligible} eligible cases{minimum}"
    )


def _note(eligible: int, size: int) -> str | None:
    if eligible == 0:
        return "No case is eligible: nothing was drawn"
    if eligible <= size:
        cases = "case" if eligible == 1 else "cases"
        return f"Only {eligible} eligible {cases} for a programme of {size}: all were drawn"
    return None
