"""Operational endpoints every service mounts (/health, /ready, /metrics), and request limits."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ReadinessCheck = Callable[[], Awaitable[bool]]

Month = Annotated[str, Query(pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", examples=["2026-11"])]
"""A calendar month in a query string, `YYYY-MM`."""


def ops_router(checks: Mapping[str, ReadinessCheck]) -> APIRouter:
    """Liveness always answers; readiness answers 503 naming each dependency that is down."""
    router = APIRouter(tags=["operations"])

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready")
    async def ready() -> JSONResponse:
        results = {name: await _safely(check) for name, check in checks.items()}
        status = 200 if all(results.values()) else 503
        body = {"status": "ready" if status == 200 else "not ready", "checks": results}
        return JSONResponse(body, status_code=status)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _safely(check: ReadinessCheck) -> bool:
    try:
        return await asyncio.wait_for(check(), timeout=5)
    except Exception:  # noqa: BLE001 (whatever the failure, the dependency is not ready)
        return False


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
        super().__init__(413, detail=f"request body larger than {limit} bytes")


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
            response = JSONResponse(
                {"detail": f"request body larger than {self.max_bytes} bytes"}, status_code=413
            )
            await response(scope, receive, send)
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
