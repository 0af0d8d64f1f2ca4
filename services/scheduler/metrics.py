"""The scheduler's own Prometheus metrics."""

from prometheus_client import Counter, Gauge

TIMERS_FIRED = Counter(
    "qa_scheduler_timers_fired_total", "Reminders and escalations fired.", ["kind", "step"]
)
REAUDITS_REFUSED = Counter(
    "qa_scheduler_reaudits_refused_total",
    "Re-audits kept as refused: they did not complete their follow-up.",
    ["reason"],
)
FOLLOWUPS_CLOSED = Counter(
    "qa_followups_closed_total", "Follow-ups completed or cancelled.", ["how", "service_area"]
)
ALLOCATIONS_SETTLED = Counter(
    "qa_scheduler_allocations_settled_total",
    "Programme allocations whose deadline ended: submitted, declined or exempted.",
    ["how"],
)
OPEN_FOLLOWUPS = Gauge(
    "qa_followups_open", "Open follow-ups by current step and area.", ["step", "service_area"]
)
OVERDUE_FOLLOWUPS = Gauge(
    "qa_followups_overdue",
    "Open follow-ups past their due date, by step and area.",
    ["step", "service_area"],
)
CONVERSATIONS_ON_TIME = Gauge(
    "qa_reflective_conversations_on_time_ratio",
    "Share of decided reflective conversations held within 5 working days, all time.",
    ["service_area"],
)
