"""Who is calling: bearer JWTs checked against the issuer's keys, roles from the organisation file.

Tokens say who someone is (`sub`); the organisation file says what they are. A token cannot
grant a staff member a role, so a compromised identity provider claim such as `roles: [admin]`
does nothing for staff. Machine callers (other services, batch jobs) are the exception: their
tokens carry `roles: ["service"]` and a subject that is not a staff id, and only the clients the
deployment lists (MACHINE_CLIENTS: client id -> the routes it may call) are let in.

Every refused token is answered with the same fixed sentence: the reason (expired, wrong
audience, ...) goes to the service's log, so nothing of the token or of the JWT library's
message is echoed to a caller probing for what is checked.

In production the keys come from the issuer's JWKS URL (RS256 only). Locally, `LocalIssuer`
keeps a key pair in a folder, writes its public half as a JWKS file for the services, and
mints tokens for the demo organisation's people (`qa token S0003`).
"""

import json
import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.organisation import MODERATOR_ROLES, Organisation, Role, StaffMember

ALGORITHM = "RS256"
LOCAL_ISSUER = "qa-platform-local"
AUDIENCE = "qa-platform"
MAX_TOKEN_LIFETIME_SECONDS = 12 * 3600
"""A token may live (exp - iat) at most a working day: a stolen one is not good for long."""
TIME_CLAIMS = ("exp", "iat", "nbf")

# The two answers a refused token gets (texts, not secrets).
MISSING_TOKEN = "missing bearer token (Authorization: Bearer <token>)"  # noqa: S105
INVALID_TOKEN = "the bearer token is not valid: sign in again for a new one"  # noqa: S105


class AccessRole(StrEnum):
    AUDITOR = "auditor"
    MODERATOR = "moderator"
    TEAM_MANAGER = "team_manager"
    HEAD_OF_SERVICE = "head_of_service"
    ASSISTANT_DIRECTOR = "assistant_director"
    PRACTITIONER = "practitioner"
    ADMIN = "admin"
    QA_LEAD = "qa_lead"
    SERVICE = "service"


_JOB_ROLES = {
    Role.PRACTITIONER: AccessRole.PRACTITIONER,
    Role.TEAM_MANAGER: AccessRole.TEAM_MANAGER,
    Role.HEAD_OF_SERVICE: AccessRole.HEAD_OF_SERVICE,
    Role.ASSISTANT_DIRECTOR: AccessRole.ASSISTANT_DIRECTOR,
    Role.ADMIN: AccessRole.ADMIN,
}


class Unauthenticated(Exception):
    """No usable token: missing, expired, wrongly signed, for another audience or issuer.

    The message is the reason, for the log only; callers are answered `answer`, fixed text.
    """

    def __init__(self, reason: str, answer: str = INVALID_TOKEN) -> None:
        super().__init__(reason)
        self.answer = answer


class Forbidden(Exception):
    """A known caller asking for something their role or scope does not allow."""


@dataclass(frozen=True)
class Caller:
    id: str
    roles: frozenset[AccessRole]
    service_areas: frozenset[str] = field(default_factory=frozenset)
    """The service areas this person leads (as Head of Service or Assistant Director)."""
    routes: frozenset[str] | None = None
    """A machine caller's routes ("METHOD /path/{param}"); None for staff, whom roles decide."""

    def has(self, *roles: AccessRole) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def role_names(self) -> str:
        return "+".join(sorted(self.roles))

    @property
    def sees_every_area(self) -> bool:
        return self.has(AccessRole.ADMIN, AccessRole.SERVICE)

    def require_self(self, staff_id: str, what: str) -> None:
        """Staff act and read as themselves only: an id in a path or body must be the caller's."""
        if staff_id != self.id:
            raise Forbidden(f"{what} must be your own staff id ({self.id}), not {staff_id!r}")

    def sees_area(self, service_area: str) -> bool:
        return self.sees_every_area or service_area in self.service_areas

    def require_area(self, service_area: str, what: str) -> None:
        if not self.sees_area(service_area):
            raise Forbidden(f"{what} is in {service_area}, which is not one of your service areas")


def access_roles(member: StaffMember) -> frozenset[AccessRole]:
    """What a staff member may do, from their job and training in the organisation file."""
    roles: set[AccessRole] = set()
    if member.role in _JOB_ROLES:
        roles.add(_JOB_ROLES[member.role])
    if member.role in MODERATOR_ROLES:
        roles.add(AccessRole.MODERATOR)
    if member.can_audit:
        roles.add(AccessRole.AUDITOR)
    if member.qa_lead:
        roles.add(AccessRole.QA_LEAD)
    return frozenset(roles)


MachineClients = Mapping[str, frozenset[str]]
"""The machine callers a deployment lets in: client id (a token's `sub`) -> the routes
("METHOD /path/{param}", as in the services' permission tables) it may call."""
NO_MACHINE_CLIENTS: MachineClients = {}


def caller_from_claims(
    claims: Mapping[str, object],
    organisation: Organisation,
    machine_clients: MachineClients = NO_MACHINE_CLIENTS,
) -> Caller:
    """Who the token's subject is: a staff member of the organisation file, or a listed machine."""
    subject = str(claims["sub"])
    member = organisation.staff_by_id.get(subject)
    if member is None:
        claimed = claims.get("roles")
        if not (isinstance(claimed, list) and AccessRole.SERVICE in claimed):
            raise Forbidden(f"{subject!r} is not in the organisation file")
        if subject not in machine_clients:
            raise Forbidden(
                f"{subject!r} is not one of the machine callers this deployment allows "
                "(MACHINE_CLIENTS)"
            )
        return Caller(subject, frozenset({AccessRole.SERVICE}), routes=machine_clients[subject])
    led = {
        leads.service_area
        for leads in organisation.service_areas
        if subject in (leads.head_of_service, leads.assistant_director)
    }
    return Caller(subject, access_roles(member), frozenset(led))


class TokenVerifier:
    """Checks RS256 bearer tokens: signature, expiry, issuer, audience and lifetime."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        jwks_url: str | None = None,
        jwks_file: Path | None = None,
        max_lifetime_seconds: float = MAX_TOKEN_LIFETIME_SECONDS,
    ) -> None:
        if (jwks_url is None) == (jwks_file is None):
            raise ValueError("give exactly one of jwks_url and jwks_file")
        self._issuer = issuer
        self._audience = audience
        self._max_lifetime = max_lifetime_seconds
        self._client = jwt.PyJWKClient(jwks_url, lifespan=300) if jwks_url else None
        self._keys = jwt.PyJWKSet.from_json(jwks_file.read_text()) if jwks_file else None

    def claims(self, token: str) -> dict[str, object]:
        """The token's claims, or `Unauthenticated` with the reason (for the log) it is refused."""
        try:
            claims = dict(
                jwt.decode(
                    token,
                    self._signing_key(token),
                    algorithms=[ALGORITHM],
                    audience=self._audience,
                    issuer=self._issuer,
                    options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                    leeway=30,  # clock skew between the issuer and us
                )
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(refusal_reason(exc)) from exc
        problem = time_claims_problem(claims, self._max_lifetime)
        if problem is not None:
            raise Unauthenticated(problem)
        return claims

    def _signing_key(self, token: str) -> jwt.PyJWK:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token)
        assert self._keys is not None
        kid = jwt.get_unverified_header(token).get("kid")
        candidates = [k for k in self._keys.keys if kid is None or k.key_id == kid]
        if not candidates:
            raise Unauthenticated("token signed with an unknown key")
        return candidates[0]


_REASONS: tuple[tuple[type[jwt.PyJWTError] | tuple[type[jwt.PyJWTError], ...], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not valid yet (iat or nbf in the future)"),
    (jwt.InvalidAudienceError, "token is not for this audience"),
    (jwt.InvalidIssuerError, "token is not from the trusted issuer"),
    (jwt.InvalidSignatureError, "token signature is not valid"),
    ((jwt.PyJWKClientError, jwt.PyJWKSetError), "token signing key not found"),
)


def refusal_reason(exc: jwt.PyJWTError) -> str:
    """Why PyJWT refused a token, in our words: its messages can quote the token's header."""
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"token has no {exc.claim!r} claim"  # one of the names we require, not the token's
    for kinds, reason in _REASONS:
        if isinstance(exc, kinds):
            return reason
    return f"token is not valid ({type(exc).__name__})"


def _numeric_date(value: object) -> float | None:
    # PyJWT reads "exp": "9999999999" as a number; RFC 7519 says NumericDate is a JSON number.
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def time_claims_problem(claims: Mapping[str, object], max_lifetime_seconds: float) -> str | None:
    """Why a token's times are unacceptable (not JSON numbers, or too long a life), or None."""
    dates = {name: _numeric_date(claims[name]) for name in TIME_CLAIMS if name in claims}
    for name, value in dates.items():
        if value is None:
            return f"token claim {name!r} is not a JSON number"
    expires, issued = dates.get("exp"), dates.get("iat")
    if expires is None or issued is None:
        return "token lacks exp or iat"
    if expires - issued > max_lifetime_seconds:
        return f"token lives longer (exp - iat) than the {max_lifetime_seconds:.0f} seconds allowed"
    return None


@dataclass(frozen=True)
class LocalIssuer:
    """A key pair in a folder, for running locally and in tests. Never for production."""

    folder: Path
    issuer: str = LOCAL_ISSUER
    audience: str = AUDIENCE

    @property
    def private_key_file(self) -> Path:
        return self.folder / "private.pem"

    @property
    def jwks_file(self) -> Path:
        return self.folder / "jwks.json"

    @cached_property
    def key_id(self) -> str:
        return str(json.loads(self.jwks_file.read_text())["keys"][0]["kid"])

    @cached_property
    def _private_key(self) -> bytes:
        # Read once: tests and the demo mint a token per request.
        return self.private_key_file.read_bytes()

    def ensure(self) -> "LocalIssuer":
        """Create the key pair and JWKS file once; later calls reuse them."""
        if self.private_key_file.exists() and self.jwks_file.exists():
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.private_key_file.touch(mode=0o600)
        self.private_key_file.write_bytes(pem)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        public.update(kid=uuid.uuid4().hex[:16], use="sig", alg=ALGORITHM)
        self.jwks_file.write_text(json.dumps({"keys": [public]}, indent=2))
        return self

    def mint(
        self,
        subject: str,
        *,
        roles: list[str] | None = None,
        ttl_seconds: int = 8 * 3600,
        audience: str | None = None,
        issued_at: float | None = None,
    ) -> str:
        now = int(time.time() if issued_at is None else issued_at)
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": audience or self.audience,
            "sub": subject,
            "iat": now,
            "exp": now + ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        if roles:
            claims["roles"] = roles
        return jwt.encode(
            claims,
            self._private_key,
            algorithm=ALGORITHM,
            headers={"kid": self.key_id},
        )

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(self.issuer, self.audience, jwks_file=self.jwks_file)
