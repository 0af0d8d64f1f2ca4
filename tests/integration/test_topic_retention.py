"""Every topic, dead-letter topics included, gets its retention on a real broker: when it is
created, and when it was there before without one."""

import asyncio
import time
import uuid

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.retention import TopicRetention
from tooling.localstack.topics import RETENTION_MS, ensure_topics

DAY_MS = 24 * 60 * 60 * 1000


async def retention_ms(bootstrap: str, topics: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        wanted = [ConfigResource(ConfigResourceType.TOPIC, topic) for topic in topics]
        found = {}
        for response in await admin.describe_configs(wanted):
            for _code, _message, _type, name, entries in response.resources:
                found[name] = next(int(e[1]) for e in entries if e[0] == RETENTION_MS)
        return found
    finally:
        await admin.close()


async def test_new_and_existing_topics_get_the_retention_of_events_or_dead_letters(
    kafka_bootstrap,
):
    fresh, older = (f"retention.{uuid.uuid4().hex[:10]}" for _ in range(2))
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(older, num_partitions=1, replication_factor=1)])
    await admin.close()
    topics = [fresh, f"{fresh}.dlq", older]
    created = await ensure_topics(
        kafka_bootstrap,
        topics,
        retention=TopicRetention(event_topic_retention_days=3, dead_letter_retention_days=9),
    )
    assert created == [fresh, f"{fresh}.dlq"]
    wanted = {fresh: 3 * DAY_MS, f"{fresh}.dlq": 9 * DAY_MS, older: 3 * DAY_MS}
    deadline = time.monotonic() + 15
    # A changed configuration reaches the broker's metadata shortly after the answer.
    while (found := await retention_ms(kafka_bootstrap, topics)) != wanted:
        assert time.monotonic() < deadline, found
        await asyncio.sleep(0.2)
