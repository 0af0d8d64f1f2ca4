"""The access trail: who read or changed which case's records, when, and what came of it.

One append-only table per service database. The middleware writes a row for every guarded
request before the answer leaves, one per case reference in the answer (plus one without a
case for answers naming none, and for refusals), so nothing is read without a trace: if the
trail cannot be written the caller gets 503, not the data. The table has no update or delete
route; a database trigger refuses UPDATE, and only the retention purge deletes.
"""

import asyncio
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import Engine, delete
from sqlmodel import Field, SQLModel, col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import timestamp_field, transaction
from shared.permissions import PUBLIC

log = logging.getLogger(__name__)

TRAIL_ROUTE = "/access-trail"
_LARGEST_BODY_SCANNED = 4 * 1024 * 1024


class AccessRecord(SQLModel, table=True):
    __tablename__ = "access_trail"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = timestamp_field(index=True)
    who: str = Field(max_length=128, index=True)
    role: str = Field(max_length=160)
    action: str = Field(max_length=200)
    """The route, e.g. "GET /followups/{followup_id}": what kind of access."""
    path: str = Field(max_length=300)
    """The record asked for, e.g. "/followups/FU-123": kept for refusals too, which name no case."""
    case_id: str | None = Field(default=None, max_length=64, index=True)
    outcome: int


class AccessRecordView(BaseModel):
    at: datetime
    who: str
    role: str
    action: str
    path: str
    case_id: str | None
    outcome: int


def case_references(document: Any) -> Iterator[str]:
    """Every `case_id` value anywhere in a JSON answer (views name their case that way)."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "case_id" and isinstance(value, str):
                yield value
            else:
                yield from case_references(value)
    elif isinstance(document, list):
        for item in document:
            yield from case_references(item)


class AccessTrailMiddleware:
    """Holds each guarded answer back until its trail rows are committed."""

    def __init__(self, app: ASGIApp, engine: Engine, clock: Any) -> None:
        self.app = app
        self.engine = engine
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        route = scope.get("route")
        action = f"{scope['method']} {getattr(route, 'path', scope['path'])}"
        if route is None or action in PUBLIC:
            for message in held:
                await send(message)
            return
        status = next((m["status"] for m in held if m["type"] == "http.response.start"), 500)
        body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        caller = scope.get("state", {}).get("caller")
        rows = self._rows(scope, action, status, body, caller)
        try:
            await asyncio.to_thread(self._write, rows)
        except Exception:
            # Never hand out records whose reading was not recorded.
            log.exception("access trail not written; answer withheld", extra={"action": action})
            failure = b'{"detail":"the access trail could not be written; try again"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": failure})
            return
        for message in held:
            await send(message)

    def _rows(
        self, scope: Scope, action: str, status: int, body: bytes, caller: Any
    ) -> list[AccessRecord]:
        cases: list[str | None] = []
        if status < 400 and action != f"GET {TRAIL_ROUTE}" and len(body) <= _LARGEST_BODY_SCANNED:
            try:
                cases = list(dict.fromkeys(case_references(json.loads(body or b"null"))))
            except ValueError:
                cases = []
        now = self.clock.now()
        # No caller: refused by the guard (401), or before it ran (a body too large or malformed).
        who = (
            caller.id
            if caller is not None
            else ("unauthenticated" if status == 401 else "unchecked")
        )
        role = caller.role_names if caller is not None else ""
        path = str(scope["path"])[:300]
        return [
            AccessRecord(
                at=now, who=who, role=role, action=action, path=path, case_id=c, outcome=status
            )
            for c in cases or [None]
        ]

    def _write(self, rows: list[AccessRecord]) -> None:
        with transaction(self.engine) as session:
            session.add_all(rows)


def access_trail_router(engine: Engine) -> APIRouter:
    router = APIRouter(tags=["access trail"])

    @router.get(TRAIL_ROUTE, response_model=list[AccessRecordView])
    def trail(
        case_id: Annotated[str | None, Query(max_length=64)] = None,
        who: Annotated[str | None, Query(max_length=128)] = None,
        since: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[AccessRecordView]:
        query = select(AccessRecord).order_by(col(AccessRecord.id).desc()).limit(limit)
        if case_id is not None:
            query = query.where(AccessRecord.case_id == case_id)
        if who is not None:
            query = query.where(AccessRecord.who == who)
        if since is not None:
            query = query.where(col(AccessRecord.at) >= since)
        with transaction(engine) as session:
            return [AccessRecordView.model_validate(r.model_dump()) for r in session.exec(query)]

    return router


def purge_access_trail(engine: Engine, now: datetime, keep_days: int) -> int:
    """Delete trail rows older than the retention period; returns how many went."""
    cutoff = now - timedelta(days=keep_days)
    with transaction(engine) as session:
        result = session.execute(delete(AccessRecord).where(col(AccessRecord.at) < cutoff))
        return int(result.rowcount)  # type: ignore[attr-defined]
