"""Bearer tokens for tests: one local issuer per test session, trusted by every service.

The conftest points AUTH_JWKS_FILE at this issuer's keys before anything builds settings, so
services started in-process or as child processes all trust the tokens minted here.
"""

import tempfile
from pathlib import Path

from shared.auth import LocalIssuer

ISSUER = LocalIssuer(Path(tempfile.mkdtemp(prefix="qa-test-keys-"))).ensure()


def bearer(staff_id: str, **claims: object) -> dict[str, str]:
    """The Authorization header of a request made by `staff_id`."""
    return {"Authorization": f"Bearer {ISSUER.mint(staff_id, **claims)}"}  # type: ignore[arg-type]


def service_bearer(name: str = "qa-tests") -> dict[str, str]:
    """The Authorization header of a machine caller (role `service`)."""
    return bearer(name, roles=["service"])
