"""Consumer lag bookkeeping: partitions that leave in a rebalance stop being reported."""

from aiokafka import TopicPartition
from prometheus_client import REGISTRY

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
