"""Consumer lag bookkeeping: partitions that leave in a rebalance stop being reported."""

import asyncio

from aiokafka import TopicPartition
from prometheus_client import REGISTRY

from shared.dependency_state import Dependency
from shared.lag import ConsumerLag


class FakeConsumer:
    """Positions and end offsets as a consumer would report them; assignment set by the test."""

    def __init__(self, positions: dict[TopicPartition, int], ends: dict[TopicPartition, int]):
        self.positions = positions
        self.ends = ends
        self.assigned = set(positions)

    def assignment(self):
        return set(self.assigned)

    async def position(self, partition):
        return self.positions[partition]

    async def end_offsets(self, partitions):
        return {tp: self.ends[tp] for tp in partitions}


def gauge(topic: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value(
        "qa_consumer_lag", {"consumer": "qa-unit", "topic": topic, "partition": str(partition)}
    )


async def test_a_partition_moved_to_another_replica_is_no_longer_reported():
    a0, a1 = TopicPartition("unit.lag", 0), TopicPartition("unit.lag", 1)
    consumer = FakeConsumer({a0: 10, a1: 3}, {a0: 12, a1: 3})
    lag = ConsumerLag(lambda: [("qa-unit", consumer)])

    assert await lag.sample() == {("qa-unit", "unit.lag", "0"): 2, ("qa-unit", "unit.lag", "1"): 0}
    assert (gauge("unit.lag", 0), gauge("unit.lag", 1)) == (2, 0)

    consumer.assigned = {a1}  # the rebalance gave partition 0 to another replica
    await lag.sample()
    assert (gauge("unit.lag", 0), gauge("unit.lag", 1)) == (None, 0)

    lag.clear()
    assert gauge("unit.lag", 1) is None


class AwayConsumer(FakeConsumer):
    """A consumer whose broker has gone: asking for end offsets never gets an answer."""

    async def end_offsets(self, partitions):
        await asyncio.sleep(10)


async def test_a_sample_missed_while_the_broker_is_away_is_left_to_the_brokers_state(caplog):
    a0 = TopicPartition("unit.lag", 0)
    broker = Dependency("unit-broker")
    lag = ConsumerLag(lambda: [("qa-unit", AwayConsumer({a0: 1}, {a0: 1}))], broker)
    await lag.step(interval=0.01)
    assert [r.getMessage() for r in caplog.records] == ["consumer lag not sampled"]
    broker.failed("NoAnswer")
    caplog.clear()
    await lag.step(interval=0.01)
    await lag.step(interval=0.01)
    assert [r.getMessage() for r in caplog.records if r.name == "shared.lag"] == []


async def test_a_sample_that_was_answered_says_the_broker_is_back():
    a0 = TopicPartition("unit.lag", 0)
    broker = Dependency("unit-broker")
    broker.failed("NoAnswer")
    await ConsumerLag(lambda: [("qa-unit", FakeConsumer({a0: 1}, {a0: 4}))], broker).step()
    assert broker.up
