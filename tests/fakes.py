"""In-memory stand-ins for the project's own ports, for unit tests only."""

from dataclasses import dataclass, field

from shared.kafka import OneAtATime


@dataclass
class PublishedMessage:
    topic: str
    key: bytes
    value: bytes
    headers: dict[str, str]


@dataclass
class RecordingPublisher(OneAtATime):
    """An `EventPublisher` that keeps what it was given; can be told to fail."""

    messages: list[PublishedMessage] = field(default_factory=list)
    fail_after: int | None = None

    async def publish(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str] | None = None
    ) -> None:
        if self.fail_after is not None and len(self.messages) >= self.fail_after:
            raise ConnectionError("broker unavailable")
        self.messages.append(PublishedMessage(topic, key, value, headers or {}))
