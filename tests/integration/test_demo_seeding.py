"""`qa run`'s demo history, seeded through the audit, scheduler and moderation services running
as processes on Kafka and PostgreSQL: the audits, then what a council that works did with them."""

import asyncio
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime

import httpx

from shared.calendar import month_bounds, uk_day
from shared.organisation import DEMO_ORGANISATION_FILE, load_organisation
from tests.conftest import USED
from tests.tokens import ISSUER, service_bearer
from tooling.demo import conversation_plans, demo_audits, seed_demo
from tooling.localstack.postgres import create_database
from tooling.localstack.services import ServiceProcess
from tooling.localstack.stack import StackInfo
from tooling.localstack.topics import ensure_topics

SERVICES = ("audit", "scheduler", "moderation")
TIME_LIMIT_SECONDS = 90
"""The README promises well under a minute on two cores; CI's machine is shared."""


def get(url: str, path: str, **params: object) -> list[dict]:
    answer = httpx.get(f"{url}{path}", params=params, headers=service_bearer(), timeout=10)  # type: ignore[arg-type]
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_demo_history_seeds_once_through_the_apis_like_a_council_that_works(
    kafka_bootstrap, postgres_admin_url, tmp_path
):
    asyncio.run(ensure_topics(kafka_bootstrap))
    run = uuid.uuid4().hex[:6]
    stack = StackInfo(
        broker="test",
        bootstrap_servers=kafka_bootstrap,
        idempotent_producer=True,
        database="test",
        database_urls={s: create_database(postgres_admin_url, f"demo_{run}_{s}") for s in SERVICES},
        data_dir=str(tmp_path),
        pid=0,
    )
    processes = {name: ServiceProcess(name, tmp_path / "logs") for name in SERVICES}
    try:
        for process in processes.values():
            process.start(stack)
        urls = {name: process.url for name, process in processes.items()}
        organisation = load_organisation(DEMO_ORGANISATION_FILE)
        now = datetime.now(UTC)
        expected = demo_audits(organisation, now)
        seen: list[tuple[int, int]] = []
        started = time.monotonic()
        first = seed_demo(
            urls, ISSUER, organisation, now, lambda done, total: seen.append((done, total))
        )
        took = time.monotonic() - started
        USED["demo"] = (
            f"demo: {len(expected)} audits, {first.conversations} conversations, "
            f"{first.reaudits} re-audits, {first.moderations} moderations seeded in {took:.1f}s"
        )
        assert took < TIME_LIMIT_SECONDS

        assert (first.created, first.already_there) == (len(expected), 0)
        assert seen[len(expected) - 1] == (len(expected), len(expected) + len(plans(now)))
        assert seen[-1][0] == seen[-1][1], "the progress ends at its total"
        assert_the_audits_are_stored(urls["audit"], expected, now)
        assert_most_past_followups_moved_on_and_mostly_in_time(urls["scheduler"], now)
        assert_most_past_moderations_are_recorded(urls["moderation"])
        assert first.conversations >= len(plans(now)) * 0.75
        assert first.reaudits > 0
        assert first.moderations > 0

        again = seed_demo(urls, ISSUER, organisation, now)
        assert (again.created, again.already_there) == (0, len(expected))
        assert (again.conversations, again.reaudits, again.moderations) == (0, 0, 0)
    finally:
        for process in processes.values():
            process.stop()


def plans(now: datetime) -> list:
    return conversation_plans(demo_audits(load_organisation(DEMO_ORGANISATION_FILE), now), now)


def past_months(now: datetime) -> list[str]:
    """The demo's months before this one (YYYY-MM)."""
    this_month = uk_day(now).strftime("%Y-%m")
    return sorted({a.audit.body["graded_at"][:7] for a in plans(now)} - {this_month})


def assert_the_audits_are_stored(audit_url: str, expected: list, now: datetime) -> None:
    span = sorted({audit.body["graded_at"][:7] for audit in expected})
    reaudits = get(audit_url, "/audits", kind="reaudit", limit=500)
    assert reaudits, "the re-audits went through the audit service"
    stats = get(audit_url, "/stats/grades", from_month=span[0], to_month=span[-1])
    stored: Counter[str] = Counter()
    for bucket in stats:
        stored.update({grade: n for grade, n in bucket["counts"].items() if n})
    assert stored == Counter(a.body["overall_grade"] for a in expected) + Counter(
        r["overall_grade"] for r in reaudits
    )
    assert stored.most_common(1)[0][0] == "requires_improvement"
    this_month = uk_day(now).strftime("%Y-%m")
    listed = get(audit_url, "/audits", month=this_month, limit=500)
    assert {a["case_id"] for a in listed} >= {
        a.body["case_id"] for a in expected if a.body["graded_at"].startswith(this_month)
    }


def assert_most_past_followups_moved_on_and_mostly_in_time(
    scheduler_url: str, now: datetime
) -> None:
    first, _ = month_bounds(uk_day(now))
    demo = [f for f in get(scheduler_url, "/followups") if f["case_id"].startswith("CASE-D")]
    past = [f for f in demo if f["grading_day"] < first.isoformat() and f["found_by"] == "auditor"]
    moved_on = [f for f in past if f["status"] == "completed" or f["step"] == "reaudit"]
    assert len(moved_on) / len(past) >= 0.75, [(f["status"], f["step"]) for f in past]
    assert any(f["status"] == "completed" and f["outcome"] == "improved" for f in past)
    assert all(f["status"] == "open" for f in demo if f["grading_day"] >= first.isoformat())
    months = past_months(now)
    rows = get(scheduler_url, "/stats/timeliness", from_month=months[0], to_month=months[-1])
    decided: defaultdict[str, int] = defaultdict(int)
    on_time: defaultdict[str, int] = defaultdict(int)
    for row in rows:
        decided[row["month"]] += row["conversations_decided"]
        on_time[row["month"]] += row["conversations_on_time"]
    for month in months:
        assert decided[month], month
        assert 50 <= 100 * on_time[month] / decided[month] <= 100, (month, rows)
    assert any(
        row["conversations_on_time_pct"] is not None
        and 50 <= row["conversations_on_time_pct"] <= 100
        for row in rows
    )
    assert any(row["reaudits_done"] for row in rows)


def assert_most_past_moderations_are_recorded(moderation_url: str) -> None:
    demo = [m for m in get(moderation_url, "/moderations") if m["case_id"].startswith("CASE-D")]
    completed = [m for m in demo if m["status"] == "completed"]
    assert completed, "some moderations are completed"
    agreed = [m for m in completed if m["grade_difference"] == 0]
    assert len(agreed) / len(completed) >= 0.6, "mostly agreeing"
    assert all(m["rationale"] for m in completed if m["grade_difference"])
    assert all(
        m["moderated_grade"] == "inadequate"
        for m in completed
        if m["auditor_grade"] == "inadequate"
    )
    assert any(m["status"] == "open" for m in demo), "some are still with their moderators"
