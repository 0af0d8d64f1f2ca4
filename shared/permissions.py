"""Who may call which route: the one table every service's guard reads.

A route missing from this table is refused to everyone (the guard fails closed) and a test
walks every service's routes to catch it before it ships. Roles are checked here; scope (your
own inbox, your service area, moderations assigned to you) is checked where the record is read,
by `Caller.require_self` and `Caller.require_area`, and is noted beside each route.
"""

from shared.auth import AccessRole

AUDITOR = AccessRole.AUDITOR
MODERATOR = AccessRole.MODERATOR
TEAM_MANAGER = AccessRole.TEAM_MANAGER
HEAD = AccessRole.HEAD_OF_SERVICE
DIRECTOR = AccessRole.ASSISTANT_DIRECTOR
ADMIN = AccessRole.ADMIN
SERVICE = AccessRole.SERVICE

STAFF = frozenset(AccessRole) - {SERVICE}
"""Every person in the organisation file, whatever their job."""
CASE_READERS = frozenset({AUDITOR, MODERATOR, HEAD, DIRECTOR, ADMIN, SERVICE})
"""Graded audits and moderations name practitioners' work: quality assurance staff only."""
STATISTICS = frozenset({AUDITOR, MODERATOR, TEAM_MANAGER, HEAD, DIRECTOR, ADMIN, SERVICE})
"""Aggregates carry no case references."""

PUBLIC = frozenset(
    {
        "GET /health",
        "GET /ready",
        "GET /metrics",
        "GET /openapi.json",
        "GET /docs",
        "GET /docs/oauth2-redirect",
        "GET /redoc",
        "GET /asyncapi",
        "GET /asyncapi.json",
    }
)
"""Probes, metrics and API descriptions: no case data, no token needed."""

ACCESS_TRAIL = {"GET /access-trail": frozenset({ADMIN})}

PERMISSIONS: dict[str, dict[str, frozenset[AccessRole]]] = {
    "audit": {
        "POST /audits": frozenset({AUDITOR}),  # scope: auditor_id is the caller
        "GET /audits": CASE_READERS,
        "GET /audits/{audit_id}": CASE_READERS,
        "GET /stats/grades": STATISTICS,
        "GET /stats/target": STATISTICS,
        **ACCESS_TRAIL,
    },
    "moderation": {
        "GET /moderations": CASE_READERS,
        "GET /moderations/{moderation_id}": CASE_READERS,
        "POST /moderations/{moderation_id}": frozenset({MODERATOR}),  # scope: assigned to caller
        "GET /stats/consistency": STATISTICS,
        "GET /sampling": STATISTICS,
        "PUT /sampling/{service_area}": frozenset({DIRECTOR, ADMIN}),
        **ACCESS_TRAIL,
    },
    "scheduler": {
        # scope: heads of service and assistant directors see their own service areas only
        "GET /followups": frozenset({HEAD, DIRECTOR, ADMIN, SERVICE}),
        "GET /followups/{followup_id}": frozenset({HEAD, DIRECTOR, ADMIN, SERVICE}),
        "POST /followups/{followup_id}/reflective-conversation": frozenset({HEAD}),
        "GET /stats/timeliness": STATISTICS,
        **ACCESS_TRAIL,
    },
    "notifications": {
        # scope: a person's own inbox and preferences only, whatever their role
        "GET /inbox/{staff_id}": STAFF,
        "POST /inbox/{notification_id}/read": STAFF,
        "GET /preferences/{staff_id}": STAFF,
        "PUT /preferences/{staff_id}": STAFF,
        **ACCESS_TRAIL,
    },
}


def allowed_roles(service: str, route: str) -> frozenset[AccessRole] | None:
    """The roles allowed on `route` ("METHOD /path/{param}"), or None when none is declared."""
    return PERMISSIONS.get(service, {}).get(route)
