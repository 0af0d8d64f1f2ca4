"""Bearer tokens for tests: one local issuer per test session, trusted by every service.

The conftest points AUTH_JWKS_FILE at this issuer's keys before anything builds settings, so
services started in-process or as child processes all trust the tokens minted here. Importing
this module (the conftest does, first) also says the tests run in development and lets the
tests' machine callers in on every route open to machine callers.
"""

import json
import os
import tempfile
from collections.abc import Generator
from pathlib import Path

import httpx

from services.catalogue import SERVICES
from shared.auth import AccessRole, LocalIssuer

ISSUER = LocalIssuer(Path(tempfile.mkdtemp(prefix="qa-test-keys-"))).ensure()

MACHINE_ROUTES = sorted(
    {
        route
        for service in SERVICES
        for route, roles in service.route_permissions.items()
        if AccessRole.SERVICE in roles
    }
)
"""Every route any service opens to machine callers."""
MACHINE_CLIENTS = dict.fromkeys(
    ("qa-tests", "qa-demo", "scheduler", "e2e-tests", "e2e-machine"), MACHINE_ROUTES
)
"""The machine callers the tests use, each let in wherever a machine caller may go."""
TEST_ENVIRONMENT = {
    "AUTH_JWKS_FILE": str(ISSUER.jwks_file),
    "QA_ENVIRONMENT": "development",  # the local issuer's key file is refused in production
    "MACHINE_CLIENTS": json.dumps(MACHINE_CLIENTS),
}
"""What every service a test builds or starts needs in its environment to trust these tokens."""
# Set on import, before any test builds settings: child processes inherit it too.
os.environ.update(TEST_ENVIRONMENT)


def bearer(staff_id: str, **claims: object) -> dict[str, str]:
    """The Authorization header of a request made by `staff_id`."""
    return {"Authorization": f"Bearer {ISSUER.mint(staff_id, **claims)}"}  # type: ignore[arg-type]


def service_bearer(name: str = "qa-tests") -> dict[str, str]:
    """The Authorization header of a machine caller (role `service`)."""
    return bearer(name, roles=["service"])


class ActsAsNamedPerson(httpx.Auth):
    """Sign each request as the person its JSON body names as acting, else as a machine caller.

    The services check that the acting person in a body is the caller, so a test that names
    one in the body makes the request as that person, as the real client would.
    """

    ACTOR_FIELDS = ("auditor_id", "moderator_id", "changed_by", "recorded_by")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        body = json.loads(request.content) if request.content else None
        actor = next(
            (body[f] for f in self.ACTOR_FIELDS if isinstance(body, dict) and f in body), None
        )
        request.headers.update(bearer(actor) if actor else service_bearer())
        yield request
