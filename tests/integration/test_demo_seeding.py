"""`qa run`'s demo months, posted to a running audit service process on Kafka and PostgreSQL."""

import asyncio
import os
import time
from collections import Counter
from datetime import UTC, datetime

import httpx

from shared.calendar import UK
from shared.organisation import DEMO_ORGANISATION_FILE, load_organisation
from tests.conftest import USED
from tests.tokens import ISSUER, service_bearer
from tooling.demo import demo_audits, seed_demo
from tooling.localstack.services import ServiceProcess
from tooling.localstack.stack import StackInfo
from tooling.localstack.topics import ensure_topics


def test_demo_months_seed_once_through_the_api_and_a_second_run_adds_nothing(
    kafka_bootstrap, postgres_url, tmp_path
):
    asyncio.run(ensure_topics(kafka_bootstrap))
    stack = StackInfo(
        broker="test",
        bootstrap_servers=kafka_bootstrap,
        idempotent_producer=True,
        database="test",
        database_urls={"audit": postgres_url},
        data_dir=str(tmp_path),
        pid=os.getpid(),
    )
    audit = ServiceProcess("audit", tmp_path / "logs")
    audit.start(stack)
    try:
        organisation = load_organisation(DEMO_ORGANISATION_FILE)
        now = datetime.now(UTC)
        expected = demo_audits(organisation, now)
        seen: list[tuple[int, int]] = []
        started = time.monotonic()
        first = seed_demo(
            audit.url, ISSUER, organisation, now, lambda done, total: seen.append((done, total))
        )
        took = time.monotonic() - started
        USED["demo"] = f"demo: {len(expected)} audits seeded through the audit API in {took:.1f}s"

        assert (first.created, first.already_there) == (len(expected), 0)
        assert seen[-1] == (len(expected), len(expected))
        assert len(seen) == len(expected)

        months = sorted({audit.body["graded_at"][:7] for audit in expected})
        stats = httpx.get(
            f"{audit.url}/stats/grades",
            params={"from_month": months[0], "to_month": months[-1]},
            headers=service_bearer(),
            timeout=10,
        ).json()
        stored = Counter()
        for bucket in stats:
            stored.update({grade: n for grade, n in bucket["counts"].items() if n})
        assert stored == Counter(a.body["overall_grade"] for a in expected)
        assert stored.most_common(1)[0][0] == "requires_improvement"
        this_month = now.astimezone(UK).strftime("%Y-%m")
        listed = httpx.get(
            f"{audit.url}/audits",
            params={"month": this_month, "limit": 500},
            headers=service_bearer(),
            timeout=10,
        ).json()
        assert {a["case_id"] for a in listed} >= {
            a.body["case_id"] for a in expected if a.body["graded_at"].startswith(this_month)
        }

        again = seed_demo(audit.url, ISSUER, organisation, now)
        assert (again.created, again.already_there) == (0, len(expected))
        total = sum(bucket["total"] for bucket in stats)
        restats = httpx.get(
            f"{audit.url}/stats/grades",
            params={"from_month": months[0], "to_month": months[-1]},
            headers=service_bearer(),
            timeout=10,
        ).json()
        assert sum(bucket["total"] for bucket in restats) == total
    finally:
        audit.stop()
