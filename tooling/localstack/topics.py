"""Creates the contract's topics and their dead-letter topics before anything uses them, each
with its retention (shared.retention.TopicRetention: EVENT_TOPIC_RETENTION_DAYS and
DEAD_LETTER_RETENTION_DAYS from the environment)."""

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.events.topics import ALL_TOPICS, dead_letter_topic
from shared.kafka import client_options
from shared.retention import TopicRetention
from shared.settings import KafkaSecurity

PARTITIONS = 3
RETENTION_MS = "retention.ms"


class TopicConfigError(RuntimeError):
    """The broker refused a topic's configuration; the message says which and why."""


def contract_topics() -> list[str]:
    return [*ALL_TOPICS, *(dead_letter_topic(topic) for topic in ALL_TOPICS)]


async def ensure_topics(
    bootstrap_servers: str,
    topics: list[str] | None = None,
    *,
    security: KafkaSecurity | None = None,
    retention: TopicRetention | None = None,
) -> list[str]:
    """Create whichever of `topics` (default: all of the contract's) are missing, and give every
    one of them its retention; returns those created.

    `security` is the services' own (KAFKA_SECURITY_PROTOCOL and the rest) for a secured broker.
    """
    wanted = topics if topics is not None else contract_topics()
    kept = retention or TopicRetention()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **client_options(security))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [topic for topic in wanted if topic not in existing]
        if missing:
            await admin.create_topics([_new_topic(topic, kept) for topic in missing])
        present = [topic for topic in wanted if topic in existing]
        if present:
            _refusals(await admin.alter_configs([_retention_of(t, kept) for t in present]))
        return missing
    finally:
        await admin.close()


def _new_topic(topic: str, retention: TopicRetention) -> NewTopic:
    return NewTopic(
        topic,
        num_partitions=PARTITIONS,
        replication_factor=1,
        topic_configs={RETENTION_MS: str(retention.retention_ms(topic))},
    )


def _retention_of(topic: str, retention: TopicRetention) -> ConfigResource:
    # AlterConfigs sets a topic's whole dynamic configuration: the contract's topics carry
    # only their retention.
    configs = {RETENTION_MS: str(retention.retention_ms(topic))}
    return ConfigResource(ConfigResourceType.TOPIC, topic, configs)


def _refusals(responses: list[object]) -> None:
    """Raise naming each topic whose configuration the broker refused."""
    refused = [
        f"{name}: {message or code}"
        for response in responses
        for code, message, _type, name in getattr(response, "resources", [])
        if code
    ]
    if refused:
        raise TopicConfigError("topic retention not set: " + "; ".join(refused))
