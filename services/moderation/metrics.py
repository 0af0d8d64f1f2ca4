"""The moderation service's own Prometheus metrics."""

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import Engine

from services.moderation.consistency import weighted_kappa
from services.moderation.queries import grade_pair_counts

MODERATIONS_REQUESTED = Counter(
    "qa_moderations_requested_total", "Audits sent for moderation.", ["service_area", "reason"]
)
MODERATIONS_COMPLETED = Counter(
    "qa_moderations_completed_total", "Moderated grades recorded.", ["service_area"]
)
DISAGREEMENTS = Counter(
    "qa_moderation_disagreements_total",
    "Moderations whose grade differs from the auditor's; direction worse means the moderator "
    "judged the practice worse.",
    ["service_area", "direction"],
)
GRADE_DIFFERENCE = Histogram(
    "qa_moderation_grade_difference",
    "index(moderated) - index(auditor) for each moderation.",
    buckets=(-3, -2, -1, 0, 1, 2, 3),
)
SAMPLE_RATE = Gauge("qa_moderation_sample_rate", "Current sample rate.", ["service_area"])
WEIGHTED_KAPPA = Gauge(
    "qa_moderation_weighted_kappa",
    "Quadratic-weighted kappa between auditor and moderator grades, all moderations so far.",
    ["service_area"],
)


def refresh_consistency_gauges(engine: Engine) -> bool:
    """Set each area's kappa gauge from its grade-pair counts (a background step; never busy)."""
    for area, counts in grade_pair_counts(engine).items():
        kappa = weighted_kappa(counts)
        if kappa is not None:
            WEIGHTED_KAPPA.labels(area).set(kappa)
    return False


CONSISTENCY_CHANNEL = "consistency"
"""Woken when a moderation commits (here or in another replica): the kappa gauges count again."""
GAUGES_SAFETY_NET_SECONDS = 600.0
"""The gauges are counted at least this often: `qa purge` deletes moderations and wakes nobody."""
