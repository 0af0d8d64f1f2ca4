"""The scheduler's figures counted by the database (issue 19) answer exactly what counting the
rows one by one in Python answered before: `/stats/timeliness`, `/stats/actions` and the
follow-up gauges, on varied data, for callers who see everything, an area, or a few audits, on
PostgreSQL and SQLite.

The row-by-row reference below is the code the aggregates replaced, kept as the oracle.
"""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.scheduler import metrics
from services.scheduler.action_queries import (
    ActionFigures,
    action_stats,
    visible_actions,
)
from services.scheduler.action_store import action_state
from services.scheduler.actions import ActionState, is_action_overdue
from services.scheduler.followup import FollowUpState, FollowUpStatus, followup_overdue
from services.scheduler.models import ActionRecord, AuditFact, FollowUp, ModeratorFact
from services.scheduler.queries import (
    Timeliness,
    months_between,
    refresh_gauges,
    timeliness,
    visible_followups,
)
from services.scheduler.store import state_of
from shared.auth import AccessRole, Caller
from shared.calendar import uk_day, uk_day_start, uk_month
from shared.clock import FixedClock
from shared.events.vocabulary import (
    ActionStatus,
    FollowUpAction,
    FollowUpOutcome,
    ServiceArea,
)
from shared.migrations import upgrade
from shared.organisation import load_organisation
from shared.visibility import areas_in_view

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TODAY = uk_day(NOW)
CALLERS = (
    Caller("S0099", frozenset({AccessRole.ADMIN})),
    Caller("S0003", frozenset({AccessRole.HEAD_OF_SERVICE}), frozenset({"early_help"})),
    Caller("S0005", frozenset({AccessRole.TEAM_MANAGER})),  # named in some audits, manages owners
    Caller("S0007", frozenset({AccessRole.PRACTITIONER})),  # moderates some audits
)
SPANS = (
    (date(2026, 1, 1), date(2026, 12, 31)),
    (date(2025, 3, 1), date(2026, 3, 31)),  # across a year end, and the BST change
    (date(2026, 10, 1), date(2026, 10, 31)),  # one month, whose first hour in UK time is BST
    (date(2026, 6, 15), date(2026, 8, 10)),  # days inside months, not whole months
    (date(2026, 5, 1), date(2026, 4, 1)),  # nothing
)
PEOPLE = ("S0004", "S0005", "S0006", "S0007", "S0009", "S0013")


def maybe(chance: random.Random, value: object, p: float = 0.5) -> object:
    return value if chance.random() < p else None


def seed(engine: Engine, count: int = 400) -> None:
    """Follow-ups, their audits' people, moderators and actions, in every combination the
    figures distinguish: held or not, late, true, false or unknown, re-audited before, on or
    after its due date, outcomes, cancelled ones, due dates either side of today, actions agreed
    in the last and first hour of UK months (BST and GMT), done early and late."""
    chance = random.Random(19)
    areas = list(ServiceArea)
    with Session(engine) as session:
        for n in range(count):
            graded = date(2025, 1, 1) + timedelta(days=chance.randrange(0, 720))
            status = chance.choice(["open", "open", "completed", "cancelled"])
            step = chance.choice(list(FollowUpAction)) if status == "open" else "reaudit"
            held = maybe(chance, graded + timedelta(days=chance.randrange(0, 12)), 0.7)
            reaudit_due = maybe(chance, graded + timedelta(days=chance.randrange(20, 90)), 0.7)
            reaudit_graded = maybe(chance, graded + timedelta(days=chance.randrange(20, 100)))
            session.add(
                FollowUp(
                    id=f"FU-{n}",
                    audit_id=f"AUD-{n}",
                    case_id=f"CASE-{n}",
                    service_area=chance.choice(areas),
                    team_id="EH-NORTH",
                    found_by=chance.choice(["auditor", "moderation"]),
                    grading_day=graded,
                    status=status,
                    step=step,
                    owner_id=chance.choice(PEOPLE),
                    due_on=TODAY + timedelta(days=chance.randrange(-30, 30)),
                    conversation_due_on=graded + timedelta(days=7),
                    conversation_held_on=held,
                    conversation_late=chance.choice([True, False, None]),
                    reaudit_due_on=reaudit_due,
                    reaudit_id=maybe(chance, f"RA-{n}", 0.3),
                    reaudit_graded_on=reaudit_graded,
                    outcome=chance.choice([None, None, *FollowUpOutcome]),
                    opened_at=uk_day_start(graded),
                )
            )
            if chance.random() < 0.8:  # some follow-ups' audits the scheduler has not learnt
                session.add(
                    AuditFact(
                        audit_id=f"AUD-{n}",
                        case_id=f"CASE-{n}",
                        auditor_id=chance.choice(PEOPLE),
                        practitioner_id=chance.choice([*PEOPLE, None]),
                        team_manager_id=chance.choice([*PEOPLE, None]),
                        overall_grade="inadequate",
                        graded_at=uk_day_start(graded),
                    )
                )
            if chance.random() < 0.2:
                session.add(
                    ModeratorFact(audit_id=f"AUD-{n}", moderator_id="S0007", moderation_id=f"M{n}")
                )
            for k in range(chance.randrange(0, 3)):
                agreed = uk_day_start(graded) + timedelta(
                    hours=chance.choice([0, 0.5, 10, 23.5, -0.5])
                )
                session.add(
                    ActionRecord(
                        id=f"ACT-{n}-{k}",
                        origin="followup",
                        origin_id=f"FU-{n}",
                        audit_id=maybe(chance, f"AUD-{n}", 0.9),
                        case_id=f"CASE-{n}",
                        service_area=chance.choice(areas),
                        team_id="EH-NORTH",
                        position=k,
                        what="See the child alone",
                        owner_id=chance.choice(PEOPLE),
                        due_on=TODAY + timedelta(days=chance.randrange(-40, 40)),
                        status=chance.choice(list(ActionStatus)),
                        agreed_by="S0003",
                        agreed_at=agreed,
                        done_on=maybe(chance, TODAY + timedelta(days=chance.randrange(-60, 10))),
                    )
                )
        # The first instant of months in UK time, either side: BST (23:00 UTC) and GMT.
        for k, instant in enumerate(
            [
                datetime(2026, 9, 30, 22, 59, tzinfo=UTC),
                datetime(2026, 9, 30, 23, 0, tzinfo=UTC),
                datetime(2026, 10, 31, 23, 59, tzinfo=UTC),
                datetime(2026, 11, 1, 0, 0, tzinfo=UTC),
            ]
        ):
            session.add(
                ActionRecord(
                    id=f"ACT-EDGE-{k}",
                    origin="followup",
                    origin_id="FU-0",
                    audit_id="AUD-0",
                    case_id="CASE-0",
                    service_area="early_help",
                    team_id="EH-NORTH",
                    position=10 + k,
                    what="At the edge of a month",
                    owner_id="S0006",
                    due_on=TODAY,
                    status="open",
                    agreed_by="S0003",
                    agreed_at=instant,
                )
            )
        session.commit()


# --- the row-by-row reference: the code the aggregates replaced -------------------------


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def rows_timeliness(month: str, area: str, found: list[FollowUpState], today: date) -> Timeliness:
    decided = [
        f for f in found if f.conversation_held_on is not None or f.conversation_due_on < today
    ]
    on_time = [f for f in decided if f.conversation_held_on is not None and not f.conversation_late]
    reaudited = [
        f for f in found if f.reaudit_graded_on is not None and f.reaudit_due_on is not None
    ]
    overdue = [
        f
        for f in found
        if f.reaudit_graded_on is None and f.reaudit_due_on is not None and f.reaudit_due_on < today
    ]
    reaudits_due = len(reaudited) + len(overdue)
    reaudits_on_time = [
        f
        for f in reaudited
        if f.reaudit_graded_on and f.reaudit_due_on and f.reaudit_graded_on <= f.reaudit_due_on
    ]
    completed = [f for f in found if f.outcome is not None]
    improved = [f for f in completed if f.outcome == FollowUpOutcome.IMPROVED]
    return Timeliness(
        month=month,
        service_area=area,
        followups=len(found),
        conversations_decided=len(decided),
        conversations_on_time=len(on_time),
        conversations_on_time_pct=_pct(len(on_time), len(decided)),
        reaudits_done=len(reaudited),
        reaudits_on_time=len(reaudits_on_time),
        reaudits_on_time_pct=_pct(len(reaudits_on_time), reaudits_due),
        improved=len(improved),
        improved_pct=_pct(len(improved), len(completed)),
    )


def rows_timeliness_stats(
    engine: Engine, caller: Caller, first: date, last: date, today: date
) -> list[Timeliness]:
    query = visible_followups(caller).where(
        col(FollowUp.grading_day) >= first,
        col(FollowUp.grading_day) <= last,
        FollowUp.status != FollowUpStatus.CANCELLED,
    )
    groups: dict[tuple[str, str], list[FollowUpState]] = defaultdict(list)
    with Session(engine) as session:
        for row in session.exec(query).all():
            followup = state_of(row)
            groups[(followup.grading_day.strftime("%Y-%m"), followup.service_area)].append(followup)
    areas = set(areas_in_view(caller)) | {area for _month, area in groups}
    return [
        rows_timeliness(month, area, groups.get((month, area), []), today)
        for month in months_between(first, last)
        for area in sorted(areas)
    ]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def rows_action_figures(
    month: str, area: str, actions: list[ActionState], today: date
) -> ActionFigures:
    done = [a for a in actions if a.done_on is not None]
    late = sum(a.done_on > a.due_on for a in done if a.done_on is not None)
    count = {status: sum(a.status is status for a in actions) for status in ActionStatus}
    judged = count[ActionStatus.VERIFIED] + count[ActionStatus.NOT_ACHIEVED]
    return ActionFigures(
        month=month,
        service_area=area,
        agreed=len(actions),
        done_on_time=len(done) - late,
        done_late=late,
        verified=count[ActionStatus.VERIFIED],
        not_achieved=count[ActionStatus.NOT_ACHIEVED],
        open=count[ActionStatus.OPEN],
        overdue=sum(is_action_overdue(a.status, a.due_on, today) for a in actions),
        completion_rate=_rate(len(done), len(actions) - count[ActionStatus.CANCELLED]),
        verification_rate=_rate(count[ActionStatus.VERIFIED], judged),
    )


def rows_action_stats(
    engine: Engine, caller: Caller, first: date, last: date, today: date
) -> list[ActionFigures]:
    query = visible_actions(caller, load_organisation()).where(
        col(ActionRecord.agreed_at) >= uk_day_start(first),
        col(ActionRecord.agreed_at) < uk_day_start(last + timedelta(days=1)),
    )
    groups: dict[tuple[str, str], list[ActionState]] = defaultdict(list)
    with Session(engine) as session:
        for row in session.exec(query).all():
            action = action_state(row)
            groups[(uk_month(action.agreed_at), action.service_area.value)].append(action)
    areas = set(areas_in_view(caller)) | {area for _month, area in groups}
    return [
        rows_action_figures(month, area, groups.get((month, area), []), today)
        for month in months_between(first, last)
        for area in sorted(areas)
    ]


def rows_gauges(engine: Engine, today: date) -> dict[tuple[str, ...], float]:
    with Session(engine) as session:
        followups = [state_of(f) for f in session.exec(select(FollowUp)).all()]
    gauges: dict[tuple[str, ...], float] = {}
    for area in ServiceArea:
        mine = [f for f in followups if f.service_area is area]
        for step in FollowUpAction:
            open_now = [f for f in mine if f.status is FollowUpStatus.OPEN and f.step is step]
            gauges[("open", step.value, area.value)] = len(open_now)
            gauges[("overdue", step.value, area.value)] = sum(
                followup_overdue(f, today) for f in open_now
            )
        figures = rows_timeliness(
            "all", area.value, [f for f in mine if f.status is not FollowUpStatus.CANCELLED], today
        )
        if figures.conversations_on_time_pct is not None:
            gauges[("on_time", area.value)] = figures.conversations_on_time_pct / 100
    return gauges


def gauges_now() -> dict[tuple[str, ...], float]:
    found: dict[tuple[str, ...], float] = {}
    for name, metric in (
        ("open", metrics.OPEN_FOLLOWUPS),
        ("overdue", metrics.OVERDUE_FOLLOWUPS),
        ("on_time", metrics.CONVERSATIONS_ON_TIME),
    ):
        for family in metric.collect():
            for sample in family.samples:
                labels = sample.labels
                key = (labels["step"], labels["service_area"]) if "step" in labels else None
                found[(name, *(key or (labels["service_area"],)))] = sample.value
    return found


# --- the tests ------------------------------------------------------------------------------


@pytest.fixture
def engine(both_engines: Engine) -> Engine:
    upgrade("scheduler", both_engines.url.render_as_string(hide_password=False))
    seed(both_engines)
    return both_engines


@pytest.mark.parametrize("caller", CALLERS, ids=lambda caller: caller.id)
def test_the_aggregates_answer_what_counting_the_rows_answered(engine, caller):
    organisation = load_organisation()
    for first, last in SPANS:
        for today in (TODAY, date(2025, 6, 1)):
            asked = (caller.id, first, last, today)
            expected = rows_timeliness_stats(engine, caller, first, last, today)
            assert timeliness(engine, caller, first, last, today) == expected, asked
            expected_actions = rows_action_stats(engine, caller, first, last, today)
            answer = action_stats(engine, caller, organisation, (first, last), today)
            assert answer == expected_actions, asked
            # The same JSON too, as the routes answer it.
            assert [a.model_dump_json() for a in answer] == [
                a.model_dump_json() for a in expected_actions
            ]


def test_the_gauges_answer_what_counting_the_rows_answered(engine):
    for now in (NOW, datetime(2025, 6, 1, 12, tzinfo=UTC)):
        metrics.CONVERSATIONS_ON_TIME.clear()  # an area with nothing decided sets none
        refresh_gauges(engine, FixedClock(now))
        assert gauges_now() == rows_gauges(engine, uk_day(now)), now
