"""The audit service's own Prometheus metrics (the shared machinery's are in shared.metrics)."""

from prometheus_client import Counter, Gauge

AUDITS_GRADED = Counter(
    "qa_audits_graded_total",
    "Audits recorded, by overall grade, service area and kind.",
    ["grade", "service_area", "kind"],
)
LEARNING_AUDITS_MONTH_TO_DATE = Gauge(
    "qa_learning_audits_month_to_date",
    "Learning audits graded so far this calendar month.",
)
MONTHLY_AUDIT_TARGET = Gauge("qa_learning_audits_monthly_target", "Learning audits due each month.")
