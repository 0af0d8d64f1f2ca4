"""The statistics the database counts (GROUP BY, issue 19) give the very answers the audits
and allocations gave counted one by one in Python, on real PostgreSQL and on SQLite, over a
varied history: every kind, grade, team and area, instants at the UK months' edges (both clock
changes), themes repeated in one audit, a key that is no domain, moderators, reallocated and
late allocations; for callers who see everything, an area, or only their own."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.audit.models import AllocationRow, Audit, AuditModerator
from services.audit.monthly_figures import (
    AuditFacts,
    Suppression,
    domain_tallies_of,
    domains_by_month,
    domains_from_counts,
    grades_by_month,
    grades_from_counts,
    groups_of,
    months_between,
    theme_tallies_of,
    themes_by_month,
    themes_from_counts,
)
from services.audit.programme_queries import (
    allocation_tallies,
    visible_allocations,
)
from services.audit.programme_stats import (
    AllocationFigure,
    figures_from_tallies,
    programme_figures,
)
from services.audit.queries import (
    PEOPLE,
    domain_grade_counts,
    grade_counts,
    learning_audits_of_month,
    theme_counts,
)
from services.audit.stats import (
    GradedRow,
    Grouping,
    grade_buckets,
    grade_distribution,
    tallies_of,
)
from shared.auth import AccessRole, Caller
from shared.calendar import WorkingDayCalendar, month_bounds, uk_day_start
from shared.db import create_db_engine
from shared.events.vocabulary import AllocationStatus, AuditDomain, AuditKind, Grade
from shared.migrations import upgrade
from shared.organisation import load_organisation
from shared.visibility import visible_where

ORGANISATION = load_organisation()
TEAMS = sorted(ORGANISATION.teams, key=lambda team: team.id)
GRADES = list(Grade)
DOMAINS = [domain.value for domain in AuditDomain]
THEMES = ["planning", "visits", "drift", "supervision", "chronology"]
KINDS = list(AuditKind)
TODAY = date(2026, 11, 20)
EDGES = (
    # 00:30 BST on 1 April is 23:30 UTC on 31 March: April's. 23:30 UTC on 31 October is
    # still October (GMT). The clocks' own hours, and a month's first and last instants.
    datetime(2026, 3, 31, 23, 30, tzinfo=UTC),
    datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 59, tzinfo=UTC),
    datetime(2026, 10, 31, 23, 30, tzinfo=UTC),
    uk_day_start(date(2026, 6, 1)),
    uk_day_start(date(2026, 7, 1)) - timedelta(microseconds=1),
)
CALLERS = (
    Caller("S9001", frozenset({AccessRole.ADMIN})),
    Caller("S0004", frozenset({AccessRole.QA_LEAD})),
    Caller("S0003", frozenset({AccessRole.HEAD_OF_SERVICE}), frozenset({"early_help"})),
    Caller("S0012", frozenset({AccessRole.AUDITOR})),
    Caller("M0001", frozenset({AccessRole.MODERATOR})),
    Caller("S0102", frozenset({AccessRole.PRACTITIONER})),
    Caller("NOBODY", frozenset({AccessRole.PRACTITIONER})),
)


def _audit(n: int) -> Audit:
    team = TEAMS[(n * 7) % len(TEAMS)]
    grade = GRADES[(n * 5 // 3) % 4]
    domain_grades = {d: GRADES[(n * (i + 2) + n // 5) % 4].value for i, d in enumerate(DOMAINS)}
    if n % 4 == 0:  # many audits graded alike, as in life
        domain_grades = dict.fromkeys(DOMAINS, grade.value)
    if n % 9 == 0:
        domain_grades["not_a_domain"] = "good"
    if n % 11 == 0:
        del domain_grades["visits"]
    themes = [THEMES[n % 5], THEMES[(n * 3) % 5]] if n % 3 else []
    if n % 7 == 0:
        themes += [themes[0] if themes else "drift", "drift"]
    graded_at = (
        EDGES[n % len(EDGES)]
        if n % 10 == 0
        else datetime(2025, 10, 1, tzinfo=UTC) + timedelta(hours=n * 37 % (24 * 420))
    )
    return Audit(
        id=f"A{n:04d}",
        case_id=f"CASE-{n % 97}",
        audit_kind=KINDS[n % len(KINDS)].value,
        service_area=team.service_area.value,
        team_id=team.id,
        area=team.area,
        practitioner_id=f"S{100 + n % 5:04d}",
        team_manager_id=f"S{200 + n % 3:04d}",
        auditor_id=f"S{10 + n % 4:04d}",
        overall_grade=grade.value,
        domain_grades=domain_grades,
        voice_of_child_evidenced=n % 2 == 0,
        could_be_better_if=[f"point {n % 3}"],
        themes=themes,
        graded_at=graded_at,
    )


def _allocation(n: int) -> AllocationRow:
    team = TEAMS[n % len(TEAMS)]
    statuses = list(AllocationStatus)
    return AllocationRow(
        id=f"AL{n:04d}",
        programme_id="P1",
        month="2026-11" if n % 6 else "2026-10",
        case_id=f"CASE-{n // 2}",  # two allocations a case: reallocations, repeats
        service_area=team.service_area.value,
        team_id=team.id if n % 13 else "GONE-TEAM",
        practitioner_id=f"S{100 + n % 5:04d}",
        team_manager_id=f"S{200 + n % 3:04d}",
        auditor_id=f"S{10 + n % 4:04d}",
        status=statuses[(n * 3) % len(statuses)].value,
        due_on=date(2026, 11, 10) + timedelta(days=n % 20),
        why_case="drawn",
        why_auditor="least loaded",
        allocated_at=datetime(2026, 11, 2, tzinfo=UTC),
    )


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'stats.db'}"
    upgrade("audit", url)
    engine = create_db_engine(url)
    with Session(engine) as session:
        session.add_all(_audit(n) for n in range(1, 1201))
        session.add_all(
            AuditModerator(audit_id=f"A{n:04d}", moderator_id="M0001", moderation_id=f"M{n}")
            for n in range(5, 1201, 17)
        )
        session.add_all(_allocation(n) for n in range(1, 301))
        session.commit()
    yield engine
    engine.dispose()


def _audits(engine: Engine, first: date, last: date, caller: Caller) -> list[Audit]:
    """The audits as the routes loaded them before: every row of the span, one by one."""
    query = select(Audit).where(
        visible_where(caller, PEOPLE),
        col(Audit.graded_at) >= uk_day_start(first),
        col(Audit.graded_at) < uk_day_start(last + timedelta(days=1)),
    )
    with Session(engine) as session:
        return list(session.exec(query).all())


def _facts(audit: Audit) -> AuditFacts:
    return AuditFacts(
        graded_at=audit.graded_at,
        overall_grade=Grade(audit.overall_grade),
        domain_grades={
            AuditDomain(d): Grade(g) for d, g in audit.domain_grades.items() if d in DOMAINS
        },
        themes=tuple(audit.themes),
        team_id=audit.team_id,
        service_area=audit.service_area,
        area=audit.area,
    )


FIRST, LAST = date(2025, 10, 1), date(2026, 11, 30)


@pytest.mark.parametrize("by", list(Grouping))
def test_grade_counts_give_the_grade_distribution_of_the_audits_one_by_one(engine, by):
    seen = []
    for caller in CALLERS:
        rows = [
            GradedRow(a.graded_at, Grade(a.overall_grade), a.team_id, a.service_area, a.area)
            for a in _audits(engine, FIRST, LAST, caller)
        ]
        counted = grade_buckets(tallies_of(grade_counts(engine, FIRST, LAST, caller, by)))
        assert counted == grade_distribution(rows, by), caller.id
        seen.append(len(rows))
    assert seen[0] == 1200
    assert 0 < seen[2] < 1200
    assert seen[-1] == 0


@pytest.mark.parametrize("by", list(Grouping))
def test_monthly_counts_give_the_board_figures_of_the_audits_one_by_one(engine, by):
    first, before = date(2025, 11, 1), date(2025, 10, 1)
    months = months_between(first, LAST)
    groups = groups_of(ORGANISATION, by)
    with_before = [before.strftime("%Y-%m"), *months]
    for threshold in (1, 3):
        hide = Suppression(threshold)
        for caller in CALLERS:
            facts = [_facts(a) for a in _audits(engine, before, LAST, caller)]
            in_span = [fact for fact in facts if fact.month in months]
            grades = tallies_of(grade_counts(engine, first, LAST, caller, by))
            domains = domain_tallies_of(domain_grade_counts(engine, first, LAST, caller, by))
            themes = theme_tallies_of(theme_counts(engine, before, LAST, caller, by))
            assert grades_from_counts(grades, months, groups, by, hide) == grades_by_month(
                in_span, months, groups, by, hide
            )
            assert domains_from_counts(domains, months, groups, by, hide) == domains_by_month(
                in_span, months, groups, by, hide
            )
            assert themes_from_counts(themes, with_before, groups, by, hide) == themes_by_month(
                facts, with_before, groups, by, hide
            ), caller.id


def test_a_months_learning_is_the_learning_audits_one_by_one(engine):
    for caller in CALLERS:
        for month in (date(2026, 3, 1), date(2026, 4, 1), date(2026, 10, 1)):
            audits = sorted(
                (
                    a
                    for a in _audits(engine, *month_bounds(month), caller)
                    if a.audit_kind == AuditKind.LEARNING.value
                ),
                key=lambda a: (a.graded_at, a.id),
            )
            listed = learning_audits_of_month(engine, month, caller)
            assert [
                (r.id, r.case_id, r.service_area, r.team_id, r.overall_grade, r.themes)
                for r in listed
            ] == [
                (a.id, a.case_id, a.service_area, a.team_id, Grade(a.overall_grade), a.themes)
                for a in audits
            ]
            assert [r.could_be_better_if for r in listed] == [a.could_be_better_if for a in audits]


@pytest.mark.parametrize("month", ["2026-10", "2026-11", "2026-12"])
def test_programme_tallies_give_the_figures_of_the_allocations_one_by_one(engine, month):
    calendar, first = WorkingDayCalendar(), date.fromisoformat(f"{month}-01")
    for caller in CALLERS:
        with Session(engine) as session:
            rows = session.exec(
                select(AllocationRow).where(
                    AllocationRow.month == month, visible_allocations(caller)
                )
            ).all()
            allocations = [
                AllocationFigure(
                    r.case_id, r.team_id, r.auditor_id, AllocationStatus(r.status), r.due_on
                )
                for r in rows
            ]
        for today in (TODAY, date(2026, 11, 1), date(2026, 12, 15)):
            tallies = allocation_tallies(engine, month, caller, today)
            assert figures_from_tallies(
                first, 50, tallies, ORGANISATION, today, calendar
            ) == programme_figures(first, 50, allocations, ORGANISATION, today, calendar)
