"""Consumer lag measured on the real broker: records waiting behind a busy handler, then none."""

import asyncio
import uuid

from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import REGISTRY

from shared.kafka import make_broker
from shared.lag import ConsumerLag, kafka_consumers
from tests.integration.kafka_tools import eventually, fresh_topic
from tooling.localstack.topics import PARTITIONS


def exported_lag(group: str, topic: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value(
        "qa_consumer_lag", {"consumer": group, "topic": topic, "partition": str(partition)}
    )


async def test_lag_counts_the_records_a_busy_consumer_has_not_taken_and_falls_to_zero(
    kafka_bootstrap,
):
    topic = await fresh_topic(kafka_bootstrap, "lag")
    group = f"test-lag-{uuid.uuid4().hex[:8]}"
    broker = make_broker(kafka_bootstrap, client_id=group)
    release = asyncio.Event()
    handled: list[int] = []

    async def slow_handler(message: KafkaMessage) -> None:
        await release.wait()  # the first record holds the partition until the test lets go
        handled.append(message.raw_message.offset)

    broker.subscriber(
        topic, group_id=group, auto_offset_reset="earliest", ack_policy=AckPolicy.NACK_ON_ERROR
    )(slow_handler)
    await broker.start()
    lag = ConsumerLag(kafka_consumers(broker))
    stop = asyncio.Event()
    sampling = asyncio.create_task(lag.run(stop, interval=0.2))
    try:
        for n in range(5):  # one key, so all five land on one partition
            await broker.publish(f"record {n}".encode(), topic=topic, key=b"CASE-LAG")

        def partition_with_lag(value: float) -> int | None:
            lags = [exported_lag(group, topic, p) for p in range(PARTITIONS)]
            return lags.index(value) if value in lags else None

        await eventually(
            lambda: partition_with_lag(4) is not None,
            what="four records waiting behind the one being handled",
        )
        partition = partition_with_lag(4)
        others = [p for p in range(PARTITIONS) if p != partition]
        assert [exported_lag(group, topic, p) for p in others] == [0, 0]

        release.set()
        await eventually(lambda: len(handled) == 5, what="all five records handled")
        await eventually(
            lambda: exported_lag(group, topic, partition) == 0, what="the lag back to zero"
        )
    finally:
        stop.set()
        await sampling
        await broker.stop()
    assert exported_lag(group, topic, partition) is None  # a stopped consumer reports nothing
