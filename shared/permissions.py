"""The roles routes are granted to; each service's table of who may call which route is in its
declaration (`services/<name>/service.py`, `permissions`), which its guard reads.

A route missing from its table is refused to everyone (the guard fails closed) and a test
walks every service's routes to catch it before it ships. Roles are checked here; scope (your
own inbox, your service area, moderations assigned to you, audits you may see) is checked where
the record is read, by `Caller.require_self`, `Caller.require_area` and
`shared.visibility.require_visible`, and is noted beside each route. A machine caller (`service`)
passes only on the routes its deployment lists for it (MACHINE_CLIENTS), see `shared.access`.
"""

from shared.auth import AccessRole

AUDITOR = AccessRole.AUDITOR
MODERATOR = AccessRole.MODERATOR
TEAM_MANAGER = AccessRole.TEAM_MANAGER
PRACTITIONER = AccessRole.PRACTITIONER
HEAD = AccessRole.HEAD_OF_SERVICE
DIRECTOR = AccessRole.ASSISTANT_DIRECTOR
ADMIN = AccessRole.ADMIN
QA_LEAD = AccessRole.QA_LEAD
SERVICE = AccessRole.SERVICE

STAFF = frozenset(AccessRole) - {SERVICE}
"""Every person in the organisation file, whatever their job."""
EVERYONE = STAFF | {SERVICE}
"""Every caller; for audits and their records, which ones each sees is `shared.visibility`'s
rule (the people an audit names, its area's leads, admins), checked where they are read."""
STATISTICS = frozenset(
    {AUDITOR, MODERATOR, TEAM_MANAGER, PRACTITIONER, HEAD, DIRECTOR, ADMIN, QA_LEAD, SERVICE}
)
"""Aggregates carry no case references; the report opens dashboards to practitioners too. Each
caller's figures are computed over the audits they may see (`shared.visibility.visible_where`)."""

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
