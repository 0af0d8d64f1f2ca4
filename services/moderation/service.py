"""The moderation service as the platform knows it: settings, topics, who may call which route."""

from services.moderation.retention import purge_moderations
from services.moderation.sampling import RATE_SETTERS
from services.moderation.settings import ModerationSettings
from shared.events import topics
from shared.permissions import EVERYONE, MODERATOR, QA_LEAD, STATISTICS
from shared.retention import MESSAGING_PURGES
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    settings=ModerationSettings,
    title="Moderation service",
    description="Samples and re-grades audits and measures grading consistency.",
    consumes=(topics.AUDIT_GRADED,),
    publishes=(
        topics.MODERATION_REQUESTED,
        topics.MODERATION_COMPLETED,
        topics.MODERATION_DISAGREED,
        topics.AUDIT_INADEQUATE_FOUND,
        topics.MODERATION_SAMPLING_RATE_CHANGED,
    ),
    permissions={
        # scope: moderations of the audits the caller may see (shared.visibility)
        "GET /moderations": EVERYONE,
        "GET /moderations/{moderation_id}": EVERYONE,
        "POST /moderations/{moderation_id}": frozenset({MODERATOR}),  # scope: assigned to caller
        "GET /stats/consistency": STATISTICS | {QA_LEAD},
        "GET /sampling": STATISTICS,
        "PUT /sampling/{service_area}": RATE_SETTERS,
    },
    purges=(*MESSAGING_PURGES, purge_moderations),
)
