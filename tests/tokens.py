"""Bearer tokens for tests: one local issuer per test session, trusted by every service.

The conftest points AUTH_JWKS_FILE at this issuer's keys before anything builds settings, so
services started in-process or as child processes all trust the tokens minted here.
"""

import json
import tempfile
from collections.abc import Generator
from pathlib import Path

import httpx

from shared.auth import LocalIssuer

ISSUER = LocalIssuer(Path(tempfile.mkdtemp(prefix="qa-test-keys-"))).ensure()


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
