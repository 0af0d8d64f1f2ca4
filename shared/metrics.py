"""Prometheus metrics of the shared machinery, defined once for every service.

Each service runs in its own process, so the default registry is that service's registry;
`/metrics` (see shared.http) exposes it.
"""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter(
    "qa_events_consumed_total",
    "Events taken from Kafka by a consumer, by outcome (processed, duplicate, dead_lettered).",
    ["consumer", "topic", "outcome"],
)
HANDLER_RETRIES = Counter(
    "qa_handler_retries_total",
    "Handler attempts that failed and were retried.",
    ["consumer", "topic"],
)
DEAD_LETTERS = Counter(
    "qa_dead_letters_total",
    "Messages sent to a dead-letter topic after they could not be processed.",
    ["consumer", "topic", "reason"],
)
HANDLER_SECONDS = Histogram(
    "qa_handler_seconds",
    "Time to process one event, database commit included.",
    ["consumer", "topic"],
)
OUTBOX_PUBLISHED = Counter(
    "qa_outbox_published_total",
    "Events the outbox relay published to Kafka and marked sent.",
    ["topic"],
)
OUTBOX_BACKLOG = Gauge(
    "qa_outbox_backlog",
    "Events committed to the outbox and not yet published, as last seen by the relay.",
)
CONSUMER_LAG = Gauge(
    "qa_consumer_lag",
    "Records on the broker that this process's consumer has not yet taken, by consumer group, "
    "topic and partition (sampled by shared.lag; each replica reports its own partitions).",
    ["consumer", "topic", "partition"],
)
DEPENDENCY_UP = Gauge(
    "qa_dependency_up",
    "Whether this process last found a dependency (broker, database) there: 1, or 0 while it is "
    "away (set by shared.dependency_state, from what the relay, consumers, workers and probe see).",
    ["dependency"],
)
