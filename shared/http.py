"""Operational endpoints every service mounts (/health, /ready, /metrics), request limits, and
the protections every answer has (`harden`): hostile input refused, security headers set.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException, Query, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.dependency_state import DEPENDENCIES, Dependency
from shared.docs import ASSETS
from shared.errors import problem
from shared.hostile_input import RefuseHostileInput

ReadinessCheck = Callable[[], Awaitable[bool]]
CHECK_TIMEOUT_SECONDS = 5.0

MONTH_RULE = "A calendar month as YYYY-MM (ISO 8601), from 1900-01 to 2099-12, e.g. 2026-11."
Month = Annotated[
    str,
    Query(pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", description=MONTH_RULE, examples=["2026-11"]),
]
"""A calendar month in a query string, `YYYY-MM`."""
OptionalMonth = Annotated[Month | None, Query(description=MONTH_RULE, examples=["2026-11"])]
"""`Month`, or left out: the rule stated on the parameter itself, where callers read it."""


def ops_router(
    checks: Mapping[str, ReadinessCheck],
    dependencies: Mapping[str, Dependency] = DEPENDENCIES,
) -> APIRouter:
    """Liveness always answers; readiness answers 503 naming each dependency that is down.

    Every /ready runs the checks afresh (`probe`), so what it says is what is true now, and
    tells each dependency's state (shared.dependency_state) what it found.
    """
    router = APIRouter(tags=["operations"])

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready")
    async def ready() -> JSONResponse:
        return readiness(await probe(checks, dependencies), dependencies)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def probe(
    checks: Mapping[str, ReadinessCheck], dependencies: Mapping[str, Dependency] = DEPENDENCIES
) -> dict[str, str | None]:
    """Run every check at once; each one's failure (None: it passed), told to its dependency."""
    names = list(checks)
    found = await asyncio.gather(*(_failure(checks[name]) for name in names))
    failures = dict(zip(names, found, strict=True))
    for name, failure in failures.items():
        if (dependency := dependencies.get(name)) is not None:
            if failure is None:
                dependency.succeeded()
            else:
                dependency.failed(failure)
    return failures


def readiness(
    failures: Mapping[str, str | None], dependencies: Mapping[str, Dependency] = DEPENDENCIES
) -> JSONResponse:
    """200 with each dependency's state; else a 503 problem document naming those down."""
    checks = {name: failure is None for name, failure in failures.items()}
    states = {name: _state(name, failure, dependencies) for name, failure in failures.items()}
    down = [name for name, ok in checks.items() if not ok]
    if not down:
        return JSONResponse({"status": "ready", "checks": checks, "dependencies": states})
    detail = f"not ready: {', '.join(down)} {'is' if len(down) == 1 else 'are'} unavailable"
    answer = problem(503, detail)
    # Extension members (RFC 9457 section 3.2), beside `status` 503: what `qa stack status`
    # reads (`checks`) and what an operator wants (`down`, and each one's state).
    body = json.loads(bytes(answer.body)) | {"checks": checks, "down": down, "dependencies": states}
    return JSONResponse(body, status_code=503, media_type=answer.media_type)


def _state(
    name: str, failure: str | None, dependencies: Mapping[str, Dependency]
) -> dict[str, object]:
    if name in dependencies:
        return dependencies[name].state()  # just told what `failure` says, and since when
    return {"up": True} if failure is None else {"up": False, "error": failure}


async def _failure(check: ReadinessCheck) -> str | None:
    """None when `check` passed; else what it failed with (an error type, or no answer)."""
    try:
        passed = await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 (whatever the failure, the dependency is not ready)
        return type(exc).__name__
    return None if passed else "NoAnswer"


def database_check(engine: Engine) -> ReadinessCheck:
    def select_one() -> bool:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    async def check() -> bool:
        return await asyncio.to_thread(select_one)

    return check


def broker_check(broker: KafkaBroker) -> ReadinessCheck:
    async def check() -> bool:
        return await broker.ping(timeout=3)

    return check


class RequestTooLarge(HTTPException):
    """An HTTPException, so FastAPI's body parsing lets it through as 413 instead of a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=too_large(limit))


def too_large(limit: int) -> str:
    return (
        f"the request body is larger than {limit:,} bytes, the most this service takes: send less"
    )


class LimitRequestSize:
    """Refuse request bodies over `max_bytes`: by Content-Length up front, else while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await problem(413, too_large(self.max_bytes))(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise RequestTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)


UNCACHED_EXCEPT = frozenset({"/health", "/ready", "/metrics"})
"""Answers without case data that may be cached; everything else is `no-store`."""
DOCS_PAGES = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
JSON_API_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_POLICY = "frame-ancestors 'none'"  # the docs pages run Swagger UI's and ReDoc's scripts
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def security_headers(path: str) -> dict[str, str]:
    """The headers an answer to `path` carries: never sniffed, framed or cached with case data."""
    docs = path in DOCS_PAGES or path.startswith(f"{ASSETS}/")
    headers = {**HEADERS, "Content-Security-Policy": DOCS_POLICY if docs else JSON_API_POLICY}
    if path not in UNCACHED_EXCEPT and not path.startswith(f"{ASSETS}/"):
        headers["Cache-Control"] = "no-store"
    return headers


class SecurityHeaders:
    """ASGI middleware: `security_headers` on every answer, refusals and 413s included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = security_headers(scope["path"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


def harden(app: FastAPI, max_request_bytes: int) -> None:
    """Add the request limits and answer headers every service has; call after all middleware.

    Outermost first: security headers (so even a 413 has them), the size limit (so nothing
    reads an oversized body), then hostile input (which reads the bounded body whole).
    """
    app.add_middleware(RefuseHostileInput)
    app.add_middleware(LimitRequestSize, max_bytes=max_request_bytes)
    app.add_middleware(SecurityHeaders)
