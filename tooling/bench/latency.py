"""End-to-end latency at a steady rate: Inadequate audits are posted to `POST /audits` for a few
seconds, and for each one the bench times, from the POST's answer,
(a) its `FollowUpScheduled` on `followup.scheduled`, seen by the bench's own consumer, and
(b) the email about it to the Head of Service at the bench's SMTP server (matched by the case
reference in its subject).
One that never arrives within the deadline counts as the deadline."""

import asyncio
import contextlib
import json
import re
import time
import uuid

import httpx
from aiokafka import AIOKafkaConsumer

from shared.events.topics import FOLLOWUP_SCHEDULED
from tooling.bench.events import AUDITOR, HEAD_OF_SERVICE_EMAIL, audit_body, case_reference
from tooling.bench.figures import Figure
from tooling.bench.kafka_io import partitions_of
from tooling.bench.mailbox import Mailbox
from tooling.bench.measures import latencies_ms, percentile
from tooling.bench.stack import Bench, Progress

CASE_IN_SUBJECT = re.compile(r"CASE-BENCH-[0-9a-f]{6}-\d{6}")


class FollowUpWatcher:
    """Notes when each case's reflective conversation is first scheduled on the topic."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.seen: dict[str, float] = {}
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        tps = await partitions_of(self.bootstrap, [FOLLOWUP_SCHEDULED])
        self._consumer.assign(tps)
        await self._consumer.seek_to_end(*tps)
        for tp in tps:  # resolved now, so nothing posted from here on is missed
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200)
            now = time.monotonic()
            for messages in batches.values():
                for message in messages:
                    data = json.loads(message.value or b"{}").get("data", {})
                    if data.get("action") == "reflective_conversation":
                        self.seen.setdefault(str(data.get("case_id")), now)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()


def emails_by_case(mailbox: Mailbox, before: int) -> dict[str, float]:
    """When the Head of Service's email about each bench case's follow-up arrived."""
    found: dict[str, float] = {}
    for arrival in mailbox.since(before):
        match = CASE_IN_SUBJECT.search(arrival.subject)
        about_followup = "reflective conversation" in arrival.subject.lower()
        if match and about_followup and HEAD_OF_SERVICE_EMAIL in arrival.to:
            found.setdefault(match.group(), arrival.at)
    return found


async def _post(client: httpx.AsyncClient, case: str, answered: dict[str, float]) -> bool:
    """POST one audit; sent again once if the connection broke before an answer.

    A kept-alive connection the server closes just as a request goes out on it breaks that
    request (the server's idle timeout racing the client's pool). The same Idempotency-Key
    makes the second send record the audit once, whatever became of the first.
    """
    body, headers = audit_body(case), {"Idempotency-Key": str(uuid.uuid4())}
    try:
        response = await client.post("/audits", json=body, headers=headers)
    except httpx.TransportError:
        response = await client.post("/audits", json=body, headers=headers)
    if response.status_code != 201:
        return False
    answered[case] = time.monotonic()
    return True


async def post_at_rate(
    bench: Bench, rate: int, seconds: float, run: str, answered: dict[str, float]
) -> int:
    """POST `rate` audits a second for `seconds`, each on its own schedule (a slow answer does
    not delay the next request); returns how many were refused."""
    headers = {"Authorization": f"Bearer {bench.issuer.mint(AUDITOR)}"}
    url = bench.running["audit"].url
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=60, limits=limits
    ) as client:
        started, posts = time.monotonic(), []
        for n in range(round(rate * seconds)):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            posts.append(asyncio.create_task(_post(client, case_reference(run, n), answered)))
        results = await asyncio.gather(*posts)
    return results.count(False)


async def e2e_latency(
    bench: Bench, rate: int, seconds: float, deadline: float, progress: Progress
) -> list[Figure]:
    run = uuid.uuid4().hex[:6]
    watcher = FollowUpWatcher(bench.stack.bootstrap_servers)
    await watcher.start()
    mails_before = bench.mailbox.count()
    answered: dict[str, float] = {}
    try:
        refused = await post_at_rate(bench, rate, seconds, run, answered)
        if refused:
            progress(f"@{rate}/s: {refused} POST /audits refused (left out)")
        give_up = max(answered.values(), default=time.monotonic()) + deadline
        while time.monotonic() < give_up:
            emails = emails_by_case(bench.mailbox, mails_before)
            if all(case in watcher.seen and case in emails for case in answered):
                break
            await asyncio.sleep(0.05)
    finally:
        await watcher.stop()
    emails = emails_by_case(bench.mailbox, mails_before)
    figures = []
    for what, arrived in (("followup", watcher.seen), ("email", emails)):
        took, missed = latencies_ms(answered, arrived, deadline)
        if missed:
            progress(
                f"@{rate}/s: {missed} of {len(answered)} {what}s not within {deadline:.0f}s:"
                f" counted as {deadline:.0f}s"
            )
        figures += [
            Figure(f"e2e_{what}_p50_ms@{rate}", percentile(took, 0.50), "ms"),
            Figure(f"e2e_{what}_p99_ms@{rate}", percentile(took, 0.99), "ms"),
        ]
    return figures
