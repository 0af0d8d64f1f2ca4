"""Creates the contract's topics and their dead-letter topics before anything uses them."""

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.events.topics import ALL_TOPICS, dead_letter_topic
from shared.kafka import client_options
from shared.settings import KafkaSecurity

PARTITIONS = 3


def contract_topics() -> list[str]:
    return [*ALL_TOPICS, *(dead_letter_topic(topic) for topic in ALL_TOPICS)]


async def ensure_topics(
    bootstrap_servers: str,
    topics: list[str] | None = None,
    *,
    security: KafkaSecurity | None = None,
) -> list[str]:
    """Create whichever of `topics` (default: all of the contract's) are missing.

    `security` is the services' own (KAFKA_SECURITY_PROTOCOL and the rest) for a secured broker.
    """
    wanted = topics if topics is not None else contract_topics()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **client_options(security))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [topic for topic in wanted if topic not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)
                    for topic in missing
                ]
            )
        return missing
    finally:
        await admin.close()
