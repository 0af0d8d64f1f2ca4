"""Each consuming service's throughput: the service runs on an empty database with its consumer
group joined and idle, N valid events of the kind it consumes land on its topic at once, and the
clock runs until its group has committed all N (notifications: until the Nth email has reached
the bench's SMTP server, "event -> email sent"). Startup and the group's join are not timed."""

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from services.catalogue import BY_NAME
from shared.events import EventData
from shared.events import topics as t
from tooling.bench.events import (
    HEAD_OF_SERVICE_EMAIL,
    audit_graded,
    case_reference,
    followup_scheduled,
    inadequate_found,
    record,
)
from tooling.bench.figures import Figure
from tooling.bench.kafka_io import (
    move_group_to_end,
    produce,
    wait_until_consumed,
    wait_until_stable,
)
from tooling.bench.mailbox import Mailbox
from tooling.bench.measures import per_second, ratio
from tooling.bench.stack import Bench, Progress


@dataclass(frozen=True)
class Workload:
    service: str
    topic: str
    event: Callable[[str], EventData]
    producer: str
    """The platform service that publishes this topic, whom the consumer trusts for it."""
    until_email: bool = False


WORKLOADS = (
    Workload("moderation", t.AUDIT_GRADED, audit_graded, "audit"),
    # The scheduler opens a follow-up from InadequateFound alone (its AuditGraded only adds
    # facts it may learn later), so the finding is the whole workload.
    Workload("scheduler", t.AUDIT_INADEQUATE_FOUND, inadequate_found, "audit"),
    Workload("notifications", t.FOLLOWUP_SCHEDULED, followup_scheduled, "scheduler", True),
)


async def service_throughput(
    bench: Bench, work: Workload, count: int, deadline: float, progress: Progress
) -> Figure:
    run = uuid.uuid4().hex[:6]
    bootstrap = bench.stack.bootstrap_servers
    group = bench.group_of(work.service)
    await move_group_to_end(bootstrap, group, BY_NAME[work.service].consumes)
    database = bench.scratch_database(f"bench_{work.service}_{run}")
    progress(f"{work.service}: starting on an empty database")
    await asyncio.to_thread(bench.start, [work.service], {work.service: database})
    try:
        if not await wait_until_stable(bootstrap, group):
            progress(f"{work.service}: its consumer group never settled; timing anyway")
        records = [record(work.event(case_reference(run, n)), work.producer) for n in range(count)]
        mails_before = bench.mailbox.count()
        ends, started = await produce(bootstrap, work.topic, records)
        if work.until_email:
            done, left = await _wait_for_emails(bench.mailbox, mails_before, run, count, deadline)
        else:
            done, left = await wait_until_consumed(bootstrap, group, ends, deadline)
    finally:
        await asyncio.to_thread(bench.stop, [work.service])
    if left:
        progress(f"{work.service}: {left} of {count} not done after {deadline:.0f}s")
    figure = Figure(
        f"{work.service}_throughput", per_second(count - left, done - started), "events/s"
    )
    progress(f"{work.service}: {count - left} events in {done - started:.2f}s")
    return figure


async def _wait_for_emails(
    mailbox: Mailbox, before: int, run: str, count: int, deadline: float
) -> tuple[float, int]:
    give_up = time.monotonic() + deadline
    while True:
        arrivals = [
            a
            for a in mailbox.since(before)
            if HEAD_OF_SERVICE_EMAIL in a.to and f"CASE-BENCH-{run}-" in a.subject
        ]
        if len(arrivals) >= count or time.monotonic() > give_up:
            last = max((a.at for a in arrivals), default=time.monotonic())
            return last, max(count - len(arrivals), 0)
        await asyncio.sleep(0.02)


def ratios(throughput: Figure, raw: Figure, durable: Figure) -> list[Figure]:
    service = throughput.name.removesuffix("_throughput")
    return [
        Figure(f"{service}_vs_raw_relay", ratio(throughput.value, raw.value), "x"),
        Figure(f"{service}_vs_durable_relay", ratio(throughput.value, durable.value), "x"),
    ]
