"""The access trail: who read or changed which case's records, when, and what came of it.

One append-only table per service database. The middleware writes a row for every guarded
request before the answer leaves, one per case reference in the answer, whatever its size (plus
one without a case for answers naming none, and for refusals), so nothing is read without a
trace: if the trail cannot be written the caller gets 503, not the data. A request that fails
(5xx, or a handler that raises) may have read records before failing, so it is trailed too,
with the case references the request itself names (path, query, body). Who is the caller the
guard resolved, else the subject of the token it verified (`request.state.subject`), so a
machine or person the guard refused is named too. The table has no update or delete route; a
database trigger refuses UPDATE, and only the retention purge deletes.
"""

import asyncio
import json
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Field, SQLModel, col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import timestamp_field, transaction
from shared.errors import RETRY_AFTER_SECONDS
from shared.paging import Paging, one_page
from shared.permissions import PUBLIC
from shared.retention import Expiry, days_ago, purge_expired

log = logging.getLogger(__name__)

TRAIL_ROUTE = "/access-trail"
CASE_KEY = "case_id"
_REQUEST_BODY_KEPT = 1024 * 1024  # far above the request size limit; a guard, not a policy
_CASE_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")  # an event's Identifier


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
    """Every `case_id` value anywhere in a JSON document (views name their case that way).

    Walked with a stack, not recursion, so no nesting depth can stop it.
    """
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == CASE_KEY and isinstance(value, str):
                    yield value
                else:
                    pending.append(value)
        elif isinstance(item, list):
            pending.extend(reversed(item))


def _cases_in(body: bytes) -> list[str | None]:
    """The distinct case references of a JSON body, in order; none when it is not JSON."""
    try:
        document = json.loads(body or b"null")
    except (ValueError, RecursionError):
        return []
    return list(dict.fromkeys(case_references(document)))


def _cases_asked_for(scope: Scope, request_body: bytes) -> list[str | None]:
    """The case references a request names itself: path parameters, query and JSON body."""
    named = [value for key, value in scope.get("path_params", {}).items() if key == CASE_KEY]
    named += [
        value
        for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        if key == CASE_KEY
    ]
    named += [case for case in _cases_in(request_body) if case is not None]
    # What a request names is the caller's to choose: only what could be a case reference.
    return list(dict.fromkeys(case for case in named if _CASE_REFERENCE.match(case)))


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
        request_body = bytearray()

        async def hold(message: Message) -> None:
            held.append(message)

        async def kept() -> Message:
            message = await receive()
            if len(request_body) < _REQUEST_BODY_KEPT:
                request_body.extend(message.get("body", b""))
            return message

        await self._run(scope, kept, hold, request_body)
        action = _guarded(scope)
        if action is None:
            for message in held:
                await send(message)
            return
        status = next((m["status"] for m in held if m["type"] == "http.response.start"), 500)
        answer = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        cases = _cases_trailed(scope, action, status, answer, bytes(request_body))
        try:
            await asyncio.to_thread(self._write, self._rows(scope, action, status, cases))
        except Exception:
            # Never hand out records whose reading was not recorded.
            log.exception("access trail not written; answer withheld", extra={"action": action})
            held = WITHHELD
        for message in held:
            await send(message)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, request_body: bytearray
    ) -> None:
        """The app; when it raises, the failure is trailed before the server answers 500."""
        try:
            await self.app(scope, receive, send)
        except Exception:
            action = _guarded(scope)
            if action is not None:
                rows = self._rows(scope, action, 500, _cases_asked_for(scope, bytes(request_body)))
                try:
                    await asyncio.to_thread(self._write, rows)
                except Exception:
                    log.exception("failed request not trailed", extra={"action": action})
            raise

    def _rows(
        self, scope: Scope, action: str, status: int, cases: list[str | None]
    ) -> list[AccessRecord]:
        now = self.clock.now()
        who, role = _who(scope.get("state", {}), status)
        path = str(scope["path"])[:300]
        return [
            AccessRecord(
                at=now, who=who, role=role, action=action, path=path, case_id=c, outcome=status
            )
            for c in (cases or [None])
        ]

    def _write(self, rows: list[AccessRecord]) -> None:
        with transaction(self.engine) as session:
            session.add_all(rows)


WITHHELD: list[Message] = [
    {
        "type": "http.response.start",
        "status": 503,
        "headers": [
            (b"content-type", b"application/problem+json"),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        ],
    },
    {
        "type": "http.response.body",
        "body": json.dumps(
            {
                "type": "about:blank",
                "title": "Service Unavailable",
                "status": 503,
                "detail": "the access trail could not be written, so the answer is withheld; "
                "try again in a few seconds",
            }
        ).encode(),
    },
]


def _cases_trailed(
    scope: Scope, action: str, status: int, answer: bytes, request_body: bytes
) -> list[str | None]:
    """An answer's case references; a failure's, those the request named; a refusal's, none."""
    if status >= 500:
        return _cases_asked_for(scope, request_body)
    if status < 400 and action != f"GET {TRAIL_ROUTE}":
        return _cases_in(answer)
    return []  # a refusal read nothing: the path it asked for is kept, without a case


def _guarded(scope: Scope) -> str | None:
    """The route's "METHOD /path/{param}" when it is trailed; None for public or unknown paths."""
    route = scope.get("route")
    action = f"{scope['method']} {getattr(route, 'path', scope['path'])}"
    return None if route is None or action in PUBLIC else action


def _who(state: Mapping[str, Any], status: int) -> tuple[str, str]:
    """The caller and their roles; else the verified token's subject; else why there is none."""
    caller = state.get("caller")
    if caller is not None:
        return str(caller.id)[:128], str(caller.role_names)
    subject = state.get("subject")
    if subject:
        return str(subject)[:128], ""
    # No token verified: refused by the guard (401), or before it ran (a body too large).
    return ("unauthenticated" if status == 401 else "unchecked"), ""


def access_trail_router(engine: Engine) -> APIRouter:
    router = APIRouter(tags=["access trail"])

    @router.get(TRAIL_ROUTE, response_model=list[AccessRecordView])
    def trail(
        case_id: Annotated[
            str | None,
            Query(
                max_length=64,
                description="Only this case's records: a case reference, "
                "at most 64 characters, matched exactly.",
            ),
        ] = None,
        who: Annotated[
            str | None,
            Query(
                max_length=128,
                description="Only this caller's records: a staff id or "
                "token subject, at most 128 characters, matched exactly.",
            ),
        ] = None,
        since: datetime | None = None,
        *,
        paging: Paging,
    ) -> list[AccessRecordView]:
        """One page of the trail, newest first."""
        query = select(AccessRecord).order_by(col(AccessRecord.id).desc())
        if case_id is not None:
            query = query.where(AccessRecord.case_id == case_id)
        if who is not None:
            query = query.where(AccessRecord.who == who)
        if since is not None:
            query = query.where(col(AccessRecord.at) >= since)
        with transaction(engine) as session:
            rows = session.exec(one_page(query, paging))
            return [AccessRecordView.model_validate(r.model_dump()) for r in rows]

    return router


def purge_access_trail(engine: Engine, now: datetime, keep_days: int) -> int:
    """Delete trail rows older than the retention period; returns how many went."""
    return purge_expired(engine, Expiry(AccessRecord.id, AccessRecord.at), days_ago(now, keep_days))
