"""A relay in a process of its own, so a test can kill -9 it mid-batch.

Usage: python -m tests.integration.relay_process DATABASE_URL BOOTSTRAP_SERVERS DELAY_SECONDS
"""

import asyncio
import sys

from shared.db import create_db_engine
from shared.kafka import BrokerPublisher, make_broker
from shared.relay import OutboxRelay


class SlowPublisher(BrokerPublisher):
    """Slows each publish so the test can reliably kill the relay between ack and mark."""

    def __init__(self, broker, delay: float) -> None:
        super().__init__(broker)
        self.delay = delay

    async def publish_many(self, messages) -> None:
        await super().publish_many(messages)
        await asyncio.sleep(self.delay * len(messages))


async def main(database_url: str, bootstrap: str, delay: float) -> None:
    broker = make_broker(bootstrap, client_id="relay-under-test")
    await broker.connect()
    relay = OutboxRelay(
        create_db_engine(database_url), SlowPublisher(broker, delay), batch_size=100
    )
    await relay.run(asyncio.Event(), poll_seconds=0.1)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
