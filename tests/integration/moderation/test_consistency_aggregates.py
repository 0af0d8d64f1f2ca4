"""The reads computed by the database (issue 19) answer exactly what counting the rows one by
one answers: consistency by month, the kappa gauges' counts, the queue's pages and the sampling
window, on varied data (UK months across clock changes, open and completed, many people), on
SQLite and on PostgreSQL."""

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from services.moderation.consistency import consistency
from services.moderation.handlers import latest_moderations
from services.moderation.models import Moderation
from services.moderation.queries import (
    ConsistencyRow,
    ModerationFilter,
    consistency_by_month,
    grade_pair_counts,
    list_moderations,
)
from shared.auth import AccessRole, Caller
from shared.calendar import uk_month
from shared.db import transaction
from shared.events.vocabulary import Grade, ServiceArea, grade_difference
from shared.migrations import upgrade
from shared.paging import PageQuery
from shared.visibility import areas_in_view, may_see

AREAS = [area.value for area in ServiceArea]
GRADES = list(Grade)
PEOPLE = [f"S{n:04d}" for n in range(1, 9)]
START = datetime(2025, 9, 1, tzinfo=UTC)
# Instants either side of UK midnight at the start of a month, in summer time and winter time.
EDGES = [
    datetime(2026, 3, 31, 23, 30, tzinfo=UTC),  # 00:30 BST on 1 April: April
    datetime(2026, 4, 30, 22, 59, tzinfo=UTC),  # 23:59 BST on 30 April: April
    datetime(2026, 4, 30, 23, 0, tzinfo=UTC),  # 00:00 BST on 1 May: May
    datetime(2025, 10, 31, 23, 59, tzinfo=UTC),  # GMT again: October
    datetime(2025, 11, 1, 0, 0, tzinfo=UTC),  # November
]
CALLERS = {
    "admin": Caller("S9001", frozenset({AccessRole.ADMIN})),
    "qa lead": Caller("S0004", frozenset({AccessRole.QA_LEAD})),
    "head of service": Caller(
        "S0003", frozenset({AccessRole.HEAD_OF_SERVICE}), frozenset({"early_help"})
    ),
    "assistant director": Caller(
        "S0002",
        frozenset({AccessRole.ASSISTANT_DIRECTOR}),
        frozenset({"care_leavers", "family_safeguarding"}),
    ),
    "moderator": Caller("S0007", frozenset({AccessRole.MODERATOR})),
    "auditor": Caller("S0005", frozenset({AccessRole.AUDITOR})),
}


@pytest.fixture
def engine(both_engines):
    upgrade("moderation", both_engines.url.render_as_string(hide_password=False))
    rows = varied_moderations(random.Random(19), 600)
    with transaction(both_engines) as session:
        session.add_all(rows)
    return both_engines


def varied_moderations(rng: random.Random, count: int) -> list[Moderation]:
    rows = []
    for n in range(count):
        requested = START + timedelta(minutes=rng.randrange(0, 60 * 24 * 400))
        if n % 7 == 0:  # several requests at the same instant: the id breaks the tie
            requested = START + timedelta(days=n % 3)
        auditor_grade = rng.choice(GRADES)
        completed = rng.random() < 0.8
        moderated_at = requested + timedelta(hours=rng.randrange(1, 24 * 20))
        if completed and n < len(EDGES) * 3:
            moderated_at = EDGES[n % len(EDGES)]
        moderated = rng.choice(GRADES)
        rows.append(
            Moderation(
                id=f"MOD-{n:05d}",
                audit_id=f"AUD-{n:05d}",
                case_id=f"CASE-{n % 50:05d}",
                service_area=rng.choice(AREAS),
                team_id="T",
                auditor_id=rng.choice(PEOPLE),
                team_manager_id=rng.choice(PEOPLE),
                practitioner_id=rng.choice([*PEOPLE, None]),
                moderator_id=rng.choice(PEOPLE),
                reason="sampled",
                auditor_grade=auditor_grade.value,
                audit_graded_at=requested,
                status="completed" if completed else "open",
                requested_at=requested,
                moderated_grade=moderated.value if completed else None,
                grade_difference=grade_difference(auditor_grade, moderated) if completed else None,
                moderated_at=moderated_at if completed else None,
                outstanding_practice=completed and rng.random() < 0.2,
            )
        )
    return rows


def months_from(first: str, last: str) -> list[str]:
    months, (year, month) = [], map(int, first.split("-"))
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def every_row(engine) -> list[Moderation]:
    with Session(engine) as session:
        return list(session.exec(select(Moderation)).all())


def consistency_one_by_one(
    rows: list[Moderation], months: list[str], caller: Caller
) -> list[ConsistencyRow]:
    """What the service answered before issue 19: every row loaded and counted in Python."""
    pairs: dict[tuple[str, str], list[tuple[Grade, Grade]]] = defaultdict(list)
    for row in rows:
        domain = row.to_domain()
        if row.status != "completed" or not may_see(caller, domain.people):
            continue
        assert row.moderated_at is not None
        assert row.moderated_grade is not None
        month = uk_month(row.moderated_at)
        if month in months:
            pairs[(month, row.service_area)].append(
                (Grade(row.auditor_grade), Grade(row.moderated_grade))
            )
    areas = set(areas_in_view(caller)) | {area for _month, area in pairs}
    return [
        ConsistencyRow.of(month, area, consistency(pairs.get((month, area), [])))
        for month in months
        for area in sorted(areas)
    ]


@pytest.mark.parametrize("who", sorted(CALLERS))
@pytest.mark.parametrize(
    "span",
    [
        ("2025-09", "2026-11"),
        ("2026-04", "2026-05"),
        ("2025-10", "2025-11"),
        ("2030-01", "2030-02"),
    ],
)
def test_consistency_from_counts_is_consistency_row_by_row(engine, who, span):
    caller, (first, last) = CALLERS[who], span
    answered = consistency_by_month(engine, first, last, caller)
    expected = consistency_one_by_one(every_row(engine), months_from(first, last), caller)
    assert [a.model_dump() for a in answered] == [e.model_dump() for e in expected]
    assert any(a.moderated for a in answered) or span[0] == "2030-01"


def test_the_gauges_counts_are_every_completed_pair_by_area(engine):
    expected: dict[str, Counter[tuple[Grade, Grade]]] = defaultdict(Counter)
    for row in every_row(engine):
        if row.status == "completed" and row.moderated_grade is not None:
            pair = (Grade(row.auditor_grade), Grade(row.moderated_grade))
            expected[row.service_area][pair] += 1
    assert grade_pair_counts(engine) == {area: dict(c) for area, c in expected.items()}


def queue_one_by_one(rows: list[Moderation], caller: Caller, wanted: ModerationFilter) -> list[str]:
    """The queue's order as the one query with a CASE key gave it, sorted in Python."""

    def key(row: Moderation) -> tuple[int, datetime, str]:
        is_open = row.status == "open"
        rank = (
            0 if is_open and row.moderator_id == (wanted.first_for or "") else 1 if is_open else 2
        )
        return (rank, row.requested_at, row.id)

    def wanted_row(row: Moderation) -> bool:
        equal = (
            (row.moderator_id, wanted.moderator),
            (row.status, wanted.status),
            (row.service_area, wanted.service_area),
            (row.outstanding_practice, wanted.outstanding),
        )
        in_month = wanted.month is None or (
            row.moderated_at is not None and uk_month(row.moderated_at) == wanted.month
        )
        seen = may_see(caller, row.to_domain().people)
        return seen and in_month and all(v is None or c == v for c, v in equal)

    return [row.id for row in sorted(filter(wanted_row, rows), key=key)]


@pytest.mark.parametrize(
    "wanted",
    [
        ModerationFilter(),
        ModerationFilter(first_for="S0007"),
        ModerationFilter(status="open", first_for="S0003"),
        ModerationFilter(status="completed"),
        ModerationFilter(outstanding=True, month="2026-04"),
        ModerationFilter(moderator="S0002", service_area=ServiceArea.EARLY_HELP),
    ],
)
def test_every_page_of_the_queue_is_the_page_of_the_one_ordered_list(engine, wanted):
    rows = every_row(engine)
    for who in ("admin", "head of service", "moderator"):
        caller = CALLERS[who]
        expected = queue_one_by_one(rows, caller, wanted)
        for limit, offset in ((500, 0), (7, 0), (7, 3), (50, 120), (100, len(expected) - 5)):
            page = PageQuery(limit=limit, offset=max(offset, 0))
            answered = [m.id for m in list_moderations(engine, caller, wanted, page)]
            assert answered == expected[page.offset : page.offset + limit], (who, limit, offset)


@pytest.mark.parametrize("area", list(ServiceArea))
def test_the_sampling_window_is_the_areas_latest_moderations(engine, area):
    completed = [
        row
        for row in every_row(engine)
        if row.service_area == area.value and row.status == "completed"
    ]
    newest = sorted(completed, key=lambda row: (row.moderated_at, row.id), reverse=True)[:20]
    with Session(engine) as session:
        window = latest_moderations(session, area, 20)
    assert window == [(row.moderated_at, row.grade_difference) for row in newest]
