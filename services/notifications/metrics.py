"""The notifications service's own Prometheus metrics."""

from prometheus_client import Counter, Gauge, Histogram

NOTIFICATIONS = Counter(
    "qa_notifications_total",
    "Notifications by channel, kind and outcome (delivered, failed).",
    ["channel", "kind", "outcome"],
)
DELIVERY_RETRIES = Counter(
    "qa_notification_retries_total",
    "Delivery attempts that failed and will be retried.",
    ["channel"],
)
DELIVERY_LATENCY = Histogram(
    "qa_notification_latency_seconds",
    "From the time of the event to delivery.",
    ["channel"],
    buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600),
)
DIGEST_BACKLOG = Gauge(
    "qa_notification_digest_backlog", "Information notifications waiting for a daily digest."
)
