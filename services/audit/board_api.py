"""HTTP routes of the board's figures: a span of months graded, by domain and by theme, with
zeros shown and small numbers hidden (services.audit.monthly_figures); the target for any
month; and a month's learning. Who may call each is in services/audit/service.py; every figure
is over the audits the caller may see (shared.visibility), as /stats/grades is."""

from datetime import date, timedelta

from fastapi import APIRouter
from pydantic import BaseModel

from services.audit.api import AuditDependencies
from services.audit.board_counts import board_counts
from services.audit.monthly_figures import (
    DomainGrades,
    GradeCounts,
    Suppression,
    ThemeCount,
    domain_tallies_of,
    domains_from_counts,
    grades_from_counts,
    groups_of,
    months_between,
    theme_tallies_of,
    themes_from_counts,
)
from services.audit.queries import learning_audits_in_month, learning_audits_of_month
from services.audit.stats import Grouping, TargetProgress, tallies_of, target_progress
from shared.access import CurrentCaller
from shared.calendar import month_start, months_span, uk_day
from shared.errors import FieldProblem, RuleBroken
from shared.events.vocabulary import Grade
from shared.http import Month, OptionalMonth

MAX_MONTHS = 36
"""The longest span /stats/monthly answers: three years of months, every group each."""


class MonthlyFigures(BaseModel):
    from_month: str
    to_month: str
    by: Grouping
    threshold: int
    """Counts from 1 to threshold - 1 are hidden (null) when `by` is an area or a team."""
    grades: list[GradeCounts]
    domains: list[DomainGrades]
    themes: list[ThemeCount]


class LearningAudit(BaseModel):
    """What one learning audit of the month teaches: its themes and "could be better if"."""

    audit_id: str
    case_id: str
    service_area: str
    team_id: str
    overall_grade: Grade
    themes: list[str]
    could_be_better_if: list[str]


def board_router(deps: AuditDependencies) -> APIRouter:
    router = APIRouter(tags=["board figures"])
    hide = Suppression(deps.small_number_threshold)

    def this_month() -> date:
        return uk_day(deps.clock.now()).replace(day=1)

    @router.get("/stats/monthly", response_model=MonthlyFigures, responses={422: {}})
    def monthly(
        caller: CurrentCaller, from_month: Month, to_month: Month, by: Grouping = Grouping.COUNTY
    ) -> MonthlyFigures:
        """Every month of the span and every group of the organisation (zeros included):
        overall grades, each domain's grades, and how many audits each theme was tagged on
        with the month before's count; over the audits the caller may see."""
        first, last = months_span(from_month, to_month)
        months = months_between(first, last)
        if not months:
            raise RuleBroken(
                "audit_rule", [FieldProblem("to_month", "is before from_month", "query")]
            )
        if len(months) > MAX_MONTHS:
            raise RuleBroken(
                "audit_rule",
                [
                    FieldProblem(
                        "to_month", f"is more than {MAX_MONTHS} months after from_month", "query"
                    )
                ],
            )
        # The first month's theme trend needs the month before it: counted, then dropped.
        before = (first - timedelta(days=1)).replace(day=1)
        groups = groups_of(deps.organisation, by)
        counts = board_counts(deps.engine, first, last, caller, by, themes_from=before)
        grades = tallies_of(counts.grades)
        domains = domain_tallies_of(counts.domains)
        tagged = theme_tallies_of(counts.themes)
        themes = themes_from_counts(tagged, [before.strftime("%Y-%m"), *months], groups, by, hide)
        return MonthlyFigures(
            from_month=from_month,
            to_month=to_month,
            by=by,
            threshold=hide.threshold,
            grades=grades_from_counts(grades, months, groups, by, hide),
            domains=domains_from_counts(domains, months, groups, by, hide),
            themes=[row for row in themes if row.month in months],
        )

    @router.get("/stats/target", response_model=TargetProgress)
    def target(caller: CurrentCaller, month: OptionalMonth = None) -> TargetProgress:
        """The month's learning audits (this month's unless asked), of those the caller may
        see, against the target; a month gone by has no working days left."""
        today = uk_day(deps.clock.now())
        first = month_start(month) if month else today.replace(day=1)
        done = learning_audits_in_month(deps.engine, first, seen_by=caller)
        return target_progress(done, deps.monthly_target, today, deps.calendar, first)

    @router.get("/stats/learning", response_model=list[LearningAudit])
    def learning(caller: CurrentCaller, month: OptionalMonth = None) -> list[LearningAudit]:
        """The month's learning audits (this month's unless asked) that the caller may see,
        oldest first, with their themes and "could be better if" points."""
        first = month_start(month) if month else this_month()
        return [
            LearningAudit(
                audit_id=audit.id,
                case_id=audit.case_id,
                service_area=audit.service_area,
                team_id=audit.team_id,
                overall_grade=audit.overall_grade,
                themes=audit.themes,
                could_be_better_if=audit.could_be_better_if,
            )
            for audit in learning_audits_of_month(deps.engine, first, caller)
        ]

    return router
