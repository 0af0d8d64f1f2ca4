"""Consumer lag: how many records on the broker each of this process's consumers has yet to take.

Kafka keeps no lag figure that a consumer could simply export, so every `LAG_SAMPLE_SECONDS`
the monitor reads each assigned partition's position (the next record the consumer hands to
its handler) and then asks the broker for the partition's end offset; the difference is
`qa_consumer_lag`. Each replica reports only the partitions assigned to it, so summing the
gauge by `consumer` gives the whole group's lag, and a partition that moves to another replica
in a rebalance is removed here at the next sample.

A sample asks the broker, so it reports what it finds to shared.dependency_state; a sample
missed while the broker is away is not logged (the broker's state says why).
"""

import asyncio
import logging
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Protocol, cast

from faststream.kafka import KafkaBroker

from shared.dependency_state import BROKER, Dependency, report_failure
from shared.metrics import CONSUMER_LAG
from shared.workers import Worker

log = logging.getLogger(__name__)

LAG_SAMPLE_SECONDS = 5.0
Labels = tuple[str, str, str]


class LagSource(Protocol):
    """What lag needs from a Kafka consumer; aiokafka's `AIOKafkaConsumer` has it."""

    def assignment(self) -> set[Any]: ...

    async def position(self, partition: Any) -> int: ...

    async def end_offsets(self, partitions: list[Any]) -> dict[Any, int]: ...


def kafka_consumers(broker: KafkaBroker) -> Callable[[], list[tuple[str, LagSource]]]:
    """The started consumers of `broker`'s subscribers, each with its group id."""

    def started() -> list[tuple[str, LagSource]]:
        found = []
        for subscriber in broker.subscribers:
            # FastStream's Kafka subscriber holds its aiokafka consumer while it is started.
            consumer = getattr(subscriber, "consumer", None)
            group = getattr(subscriber, "group_id", None)
            if consumer is not None and group:
                found.append((str(group), cast(LagSource, consumer)))
        return found

    return started


class ConsumerLag:
    def __init__(
        self,
        consumers: Callable[[], Iterable[tuple[str, LagSource]]],
        broker: Dependency = BROKER,
    ) -> None:
        self._consumers = consumers
        self._broker = broker
        self._reported: set[Labels] = set()

    async def sample(self) -> dict[Labels, int]:
        """Measure every assigned partition once and set the gauge; returns what it set."""
        measured: dict[Labels, int] = {}
        for group, consumer in self._consumers():
            partitions = sorted(consumer.assignment())
            if not partitions:
                continue  # not joined yet, or every partition went to other replicas
            # Positions first: the end offsets read after them can only be further on.
            positions = {tp: await consumer.position(tp) for tp in partitions}
            ends = await consumer.end_offsets(partitions)
            self._broker.succeeded()  # it answered
            for tp, position in positions.items():
                measured[(group, tp.topic, str(tp.partition))] = max(0, ends[tp] - position)
        for labels, lag in measured.items():
            CONSUMER_LAG.labels(*labels).set(lag)
        for labels in self._reported - measured.keys():
            CONSUMER_LAG.remove(*labels)
        self._reported = set(measured)
        return measured

    def clear(self) -> None:
        """Forget this process's partitions: a stopped consumer reports no lag."""
        for labels in self._reported:
            CONSUMER_LAG.remove(*labels)
        self._reported = set()

    async def step(self, interval: float = LAG_SAMPLE_SECONDS) -> bool:
        """One sample; a missed one (a rebalance can keep position() waiting) is only noted."""
        try:
            await asyncio.wait_for(self.sample(), timeout=interval * 2)
        except Exception as exc:  # noqa: BLE001 (a missed sample must not stop the service)
            # A sample that waited out a broker found away meanwhile adds nothing to its state.
            if not report_failure(exc) and self._broker.up:
                log.warning("consumer lag not sampled", extra={"error": type(exc).__name__})
        return False

    async def run(self, stop: asyncio.Event, interval: float = LAG_SAMPLE_SECONDS) -> None:
        """Sample every `interval` seconds until `stop` is set."""
        try:
            await Worker("consumer-lag", interval, partial(self.step, interval)).run(stop)
        finally:
            self.clear()
