"""The audit service as the platform knows it: settings, topics, who may call which route."""

from services.audit.retention import purge_allocations, purge_audits, purge_programmes
from services.audit.settings import AuditSettings
from shared.events import topics
from shared.permissions import (
    ADMIN,
    AUDITOR,
    DIRECTOR,
    EVERYONE,
    HEAD,
    PRACTITIONER,
    QA_LEAD,
    STATISTICS,
    TEAM_MANAGER,
)
from shared.retention import MESSAGING_PURGES
from shared.service import ServiceDefinition

PROGRAMME_READERS = frozenset({QA_LEAD, DIRECTOR, HEAD, ADMIN})

SERVICE = ServiceDefinition(
    settings=AuditSettings,
    title="Audit service",
    description=(
        "Records graded case audits and runs the monthly audit programme; learns from the case "
        "management system who holds a case and what it is, from moderation who moderates an "
        "audit, and from the scheduler who may re-audit it."
    ),
    consumes=(
        topics.CASE_EVENTS,
        topics.MODERATION_REQUESTED,
        topics.FOLLOWUP_SCHEDULED,
        topics.FOLLOWUP_COMPLETED,
        topics.FOLLOWUP_CANCELLED,
    ),
    publishes=(
        topics.AUDIT_GRADED,
        topics.AUDIT_INADEQUATE_FOUND,
        topics.AUDIT_ALLOCATED,
        topics.AUDIT_DECLINED,
        topics.AUDIT_EXEMPTED,
        topics.AUDIT_SUBMITTED,
    ),
    permissions={
        "POST /audits": frozenset({AUDITOR}),  # scope: auditor_id is the caller
        # scope: the audits the caller may see (shared.visibility)
        "GET /audits": EVERYONE,
        "GET /audits/{audit_id}": EVERYONE,
        "GET /stats/grades": STATISTICS | {QA_LEAD},
        "GET /stats/target": STATISTICS | {QA_LEAD},
        # The board's figures (services/audit/board_api.py), over the audits one may see.
        "GET /stats/monthly": STATISTICS | {QA_LEAD},
        # scope: the audits the caller may see; names cases, so trailed as any read
        "GET /stats/learning": EVERYONE,
        # The monthly programme (services/audit/allocation_rules.py says each scope).
        "POST /programmes": frozenset({QA_LEAD}),
        # scope: HoS and AD see their areas' allocations and unallocated cases
        "GET /programmes": PROGRAMME_READERS,
        "GET /programmes/{month}": PROGRAMME_READERS,
        # scope: the allocation's people, its area's leads, the QA lead, admins
        "GET /allocations": EVERYONE,
        "GET /allocations/{allocation_id}": EVERYONE,
        "PUT /allocations/{allocation_id}/draft": frozenset({AUDITOR}),  # scope: its auditor
        "POST /allocations/{allocation_id}/submit": frozenset({AUDITOR}),  # scope: its auditor
        "POST /allocations/{allocation_id}/decline": frozenset({AUDITOR}),  # scope: its auditor
        # scope: the case's practitioner and team manager, the auditor
        "POST /allocations/{allocation_id}/reflections": frozenset(
            {PRACTITIONER, TEAM_MANAGER, AUDITOR}
        ),
        # scope: the assistant director of the case's service area
        "POST /allocations/{allocation_id}/exempt": frozenset({DIRECTOR}),
        "GET /stats/programme": STATISTICS | {QA_LEAD},  # scope: the allocations one may see
    },
    purges=(*MESSAGING_PURGES, purge_audits, purge_allocations, purge_programmes),
)
