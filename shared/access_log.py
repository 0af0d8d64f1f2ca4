"""One JSON access-log line per HTTP request, with the request's correlation id.

Successful probes and scrapes (/health, /ready, /metrics) are left out; failing ones are not.

The line names the route *template*, never the raw path or the query string: both can carry
case data (ids, names typed into a search). uvicorn's own access log is off (shared.runtime).
Every line the request's handling writes carries the same correlation id: the caller's
`X-Correlation-ID` when it is a plain token, else a new one; the answer says which.
"""

import logging
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http_metrics import UNMEASURED, route_template
from shared.logging import correlated

HEADER = "X-Correlation-ID"
# Letters, digits and a few separators only: no room for an email address or a sentence.
_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,128}")

log = logging.getLogger("shared.access_log")


def access_fields(method: str, route: str, status: int, seconds: float) -> dict[str, Any]:
    """What the access-log line of one request records (the correlation id comes with it)."""
    return {
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
    }


def worth_logging(route: str, status: int) -> bool:
    """Every request but a probe or scrape that succeeded: those come every few seconds from
    the orchestrator and Prometheus and would drown what people asked; a failing one is kept."""
    return route not in UNMEASURED or status >= 400


def correlation_of(given: str | None) -> str:
    """The caller's correlation id if it is a plain token, else a fresh one."""
    if given is not None and _TOKEN.fullmatch(given):
        return given
    return uuid.uuid4().hex


class AccessLog:
    """ASGI middleware: tag the request's log lines with its correlation id, then log it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER.lower().encode())
        correlation = correlation_of(given.decode("latin-1") if given else None)
        status = 500  # what the client gets if the app raises before it answers
        started = time.perf_counter()

        async def answered(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = correlation
            await send(message)

        with correlated(correlation):
            try:
                await self.app(scope, receive, answered)
            finally:
                seconds = time.perf_counter() - started
                route = route_template(scope, status)
                if worth_logging(route, status):
                    fields = access_fields(scope["method"], route, status, seconds)
                    log.info("%(method)s %(route)s %(status)s", fields, extra=fields)


def install_access_log(app: FastAPI) -> None:
    """Log every request `app` answers; add it last, so it is outermost and sees every refusal."""
    app.add_middleware(AccessLog)
