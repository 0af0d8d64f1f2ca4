"""The board's monthly counts answer exactly what counting the audits answers (services.audit
.board_counts against the queries it replaced), over a varied history, for a caller who sees
every audit, one who leads one service area, and one who sees only audits naming them; and
still after a retention purge takes the oldest months away."""

import random
from collections import Counter
from dataclasses import astuple
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from services.audit.board_counts import board_counts
from services.audit.models import Audit
from services.audit.month_counts import count_audits, recount
from services.audit.queries import domain_grade_counts, grade_counts, theme_counts
from services.audit.retention import purge_audits
from services.audit.settings import AuditSettings
from services.audit.stats import Grouping
from shared.auth import AccessRole, Caller
from shared.db import transaction
from shared.events.vocabulary import AuditDomain, Grade
from shared.migrations import upgrade

pytestmark = pytest.mark.unit

TEAMS = [("early_help", "north", "EH-NORTH"), ("early_help", "south", "EH-SOUTH")]
TEAMS += [("family_safeguarding", "south", "FS-SOUTH"), ("children_in_care", "north", "CIC-1")]
THEMES = ["planning", "visits", "voice_of_child", "chronology"]
PEOPLE = ["S0003", "S0006", "S0013", "S0019", "S0034"]
FIRST, LAST = date(2025, 10, 1), date(2026, 11, 30)
CALLERS = {
    "sees every audit": Caller("S9001", frozenset({AccessRole.QA_LEAD})),
    "leads early help": Caller(
        "S0002", frozenset({AccessRole.HEAD_OF_SERVICE}), frozenset({"early_help"})
    ),
    "named on some": Caller("S0006", frozenset({AccessRole.PRACTITIONER})),
}


def history(n: int, seed: int = 7) -> list[Audit]:
    rng = random.Random(seed)
    grades = [g.value for g in Grade]
    rows = []
    for i in range(n):
        service_area, area, team = rng.choice(TEAMS)
        # Some near midnight at a month's end: UK months, not UTC ones, are counted.
        graded = datetime(2025, 10, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(60 * 24 * 425))
        rows.append(
            Audit.model_validate(
                {
                    "id": f"AUD-{i:06d}",
                    "case_id": f"CASE-{i:06d}",
                    "audit_kind": rng.choice(["learning", "learning", "reaudit"]),
                    "service_area": service_area,
                    "area": area,
                    "team_id": team,
                    "overall_grade": rng.choice(grades),
                    "domain_grades": {d.value: rng.choice(grades) for d in AuditDomain},
                    "voice_of_child_evidenced": rng.random() < 0.8,
                    "could_be_better_if": [],
                    "themes": rng.sample(THEMES, rng.randrange(3)),
                    "graded_at": graded,
                    "auditor_id": rng.choice(PEOPLE),
                    "practitioner_id": rng.choice(PEOPLE),
                    "team_manager_id": rng.choice(PEOPLE),
                }
            )
        )
    return rows


def totals(rows: list) -> dict[tuple, int]:
    """Summed by everything but the number: a caller's counts may come in two parts (the areas
    they see whole, and the audits naming them elsewhere), which the figures add up."""
    summed: Counter[tuple] = Counter()
    for row in rows:
        *key, number = astuple(row)
        summed[tuple(key)] += number
    return dict(summed)


def counted_from_the_audits(engine: Engine, caller: Caller, by: Grouping) -> tuple:
    return (
        totals(grade_counts(engine, FIRST, LAST, caller, by)),
        totals(domain_grade_counts(engine, FIRST, LAST, caller, by)),
        totals(theme_counts(engine, FIRST, LAST, caller, by)),
    )


def from_the_counts(engine: Engine, caller: Caller, by: Grouping) -> tuple:
    counts = board_counts(engine, FIRST, LAST, caller, by, themes_from=FIRST)
    return totals(counts.grades), totals(counts.domains), totals(counts.themes)


@pytest.fixture
def engine(both_engines):
    """600 audits counted as they are recorded, on SQLite and on PostgreSQL (whose UPSERTs
    differ)."""
    upgrade("audit", both_engines.url.render_as_string(hide_password=False))
    rows = history(600)
    with transaction(both_engines) as session:
        session.add_all(rows)
        count_audits(session, rows)
    return both_engines


@pytest.mark.parametrize("by", list(Grouping))
@pytest.mark.parametrize("who", CALLERS)
def test_the_counts_answer_what_counting_the_audits_answers(engine, who, by):
    expected = counted_from_the_audits(engine, CALLERS[who], by)
    assert sum(expected[0].values()) > 0
    assert from_the_counts(engine, CALLERS[who], by) == expected


def test_a_purge_takes_away_the_counts_of_exactly_the_audits_it_deletes(engine, tmp_path):
    settings = AuditSettings(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path)
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    settings = settings.model_copy(update={"case_record_retention_days": 300})
    _, purged = purge_audits(engine, now, settings)
    assert purged > 0
    for caller in CALLERS.values():
        assert from_the_counts(engine, caller, Grouping.TEAM) == counted_from_the_audits(
            engine, caller, Grouping.TEAM
        )


def test_recounting_from_scratch_gives_the_counts_kept_as_audits_arrived(engine):
    kept = from_the_counts(engine, CALLERS["sees every audit"], Grouping.TEAM)
    with engine.begin() as connection:
        recount(connection)  # it empties the tables first
    assert from_the_counts(engine, CALLERS["sees every audit"], Grouping.TEAM) == kept
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Audit)).scalar_one() == 600
