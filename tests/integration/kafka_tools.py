"""Reading topics and consumer-group offsets on the real broker, with deadlines, for tests."""

import asyncio
import inspect
import os
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from tooling.localstack.kafka import KafkaServer, java_available
from tooling.localstack.processes import StackError
from tooling.localstack.topics import PARTITIONS, ensure_topics


def unavailable(reason: str) -> None:
    """The rule of tests/conftest.py: under CI a server that cannot run fails, never skips."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI requires the real server)", pytrace=False)
    pytest.skip(reason)


def start_secured(server: KafkaServer) -> KafkaServer:
    """Start a broker with a SASL_SSL listener, or fail (CI) or skip saying why it cannot."""
    if not java_available():
        unavailable("Java is not installed, so Apache Kafka cannot run")
    if shutil.which("openssl") is None:
        unavailable("openssl is not installed, so the SASL_SSL listener has no certificate")
    try:
        server.start()
    except StackError as exc:
        server.stop()
        unavailable(f"Apache Kafka with a SASL_SSL listener did not start: {exc}")
    return server


async def fresh_topic(bootstrap: str, prefix: str = "test") -> str:
    """A new topic (and its dead-letter topic) no other test uses."""
    topic = f"{prefix}.{uuid.uuid4().hex[:10]}"
    await ensure_topics(bootstrap, [topic, f"{topic}.dlq"])
    return topic


async def read_all(
    bootstrap: str, topic: str, expected: int, timeout: float = 30, key: bytes | None = None
) -> list[ConsumerRecord]:
    """Every record on `topic` (with `key`, if given), waiting until `expected` have arrived."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for batch in batches.values():
                records.extend(r for r in batch if key is None or r.key == key)
        # One more short read: anything beyond `expected` (duplicates) must be seen too.
        for batch in (await consumer.getmany(timeout_ms=1000)).values():
            records.extend(r for r in batch if key is None or r.key == key)
    finally:
        await consumer.stop()
    return records


async def topic_size(bootstrap: str, topic: str) -> int:
    """How many records `topic` holds (sum of its partitions' end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)  # a consumer with nothing assigned fails to stop cleanly
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def group_members(bootstrap: str, group: str) -> tuple[str, list[set[TopicPartition]]]:
    """A consumer group's state (e.g. "Stable") and the partitions assigned to each member."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    [described] = response.to_object()["groups"]
    members = [
        set(ConsumerProtocolMemberAssignment.decode(member["member_assignment"]).partitions())
        if member["member_assignment"]
        else set()  # joined, not yet given anything
        for member in described["members"]
    ]
    return described["state"], members


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 30, what: str = "condition"
) -> None:
    """Poll `check` (plain or async) until it holds, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
