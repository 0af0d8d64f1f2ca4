"""Access control for a service's HTTP app: the guard on every route, and its error answers.

`AccessControl.guard` is a FastAPI dependency each service puts on its routers. It finds the
route's entry in the service's permissions (its `ServiceDefinition`), checks the bearer token,
resolves the caller from the organisation file, checks the role, and leaves the caller on
`request.state` for scope checks and the access trail. 401 means "we do not know who you are",
403 "we do, and the answer is no"; both are problem documents (shared.errors). A machine
caller passes only on the routes its deployment lists for it (MACHINE_CLIENTS), and only where
the route's permission grants `service`.
"""

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth import (
    MISSING_TOKEN,
    AccessRole,
    Caller,
    Forbidden,
    MachineClients,
    TokenVerifier,
    Unauthenticated,
    caller_from_claims,
)
from shared.errors import problem
from shared.organisation import Organisation

log = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False, description="A JWT from the organisation's issuer")


def route_key(request: Request) -> str:
    """ "METHOD /path/{param}" of the matched route, as permission tables name it."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


@dataclass(frozen=True)
class AccessControl:
    permissions: Mapping[str, frozenset[AccessRole]]
    """The service's routes ("METHOD /path/{param}") and the roles allowed on each."""
    verifier: TokenVerifier
    organisation: Organisation
    machine_clients: MachineClients = field(default_factory=dict)
    """The machine callers let in, and the routes each may call (MACHINE_CLIENTS)."""

    async def guard(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        key = route_key(request)
        roles = self.permissions.get(key)
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthenticated("no bearer token", answer=MISSING_TOKEN)
        # A JWKS URL may be fetched on first use: keep the event loop free meanwhile.
        claims = await asyncio.to_thread(self.verifier.claims, credentials.credentials)
        request.state.subject = str(claims["sub"])  # the trail's "who", even if refused below
        caller = caller_from_claims(claims, self.organisation, self.machine_clients)
        request.state.caller = caller
        if roles is None:
            raise Forbidden(f"no permission is declared for {key}")
        if caller.roles.isdisjoint(roles):
            needed = ", ".join(sorted(roles))
            raise Forbidden(f"{key} needs one of these roles: {needed}")
        if caller.routes is not None and key not in caller.routes:
            raise Forbidden(
                f"machine caller {caller.id!r} may not call {key}: it is not among the routes "
                "MACHINE_CLIENTS lists for it"
            )
        return caller

    def install(self, app: FastAPI) -> None:
        """Answer `Unauthenticated` with 401 and `Forbidden` with 403, wherever they are raised."""
        app.add_exception_handler(Unauthenticated, _unauthenticated)  # type: ignore[arg-type]
        app.add_exception_handler(Forbidden, _forbidden)  # type: ignore[arg-type]


def current_caller(request: Request) -> Caller:
    """The caller the router's guard resolved (the guard runs before any route dependency)."""
    caller: Caller = request.state.caller
    return caller


CurrentCaller = Annotated[Caller, Depends(current_caller)]


async def _unauthenticated(request: Request, exc: Unauthenticated) -> JSONResponse:
    # The reason is ours (never the token's contents), for whoever investigates a refusal.
    log.info("refused %s: %s", route_key(request), exc)
    challenge = "Bearer" if exc.answer == MISSING_TOKEN else 'Bearer error="invalid_token"'
    return problem(401, exc.answer, headers={"WWW-Authenticate": challenge})


async def _forbidden(_request: Request, exc: Forbidden) -> JSONResponse:
    return problem(403, str(exc))
