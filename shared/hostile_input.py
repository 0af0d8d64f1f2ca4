"""Input no field of ours can hold, refused with 422 before any route sees it.

A NUL byte (in a path parameter, a query value or a JSON string) cannot be stored in
PostgreSQL text, and NaN or Infinity in a JSON number (Python's JSON reader accepts them) cannot
be compared with a rule nor written back as JSON: both used to end in 500s. The answer is the
422 problem document of every malformed request (shared.errors), one entry per field, and never
echoes the input.
"""

import json
from collections.abc import Iterator
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import field_entry, fields_answer, problem

Location = tuple[str | int, ...]
NUL = "\x00"
NUL_MESSAGE = "must not contain a NUL byte (\\u0000): remove it"
NON_FINITE_MESSAGE = "should be a finite number, not NaN or Infinity"


class _NonFinite:
    """Where the JSON held NaN, Infinity, -Infinity or a number too large for a float."""


_NON_FINITE = _NonFinite()


def _finite_or_flag(text: str) -> float | _NonFinite:
    number = float(text)
    return number if abs(number) != float("inf") else _NON_FINITE


def json_problems(body: bytes) -> list[tuple[Location, str]]:
    """Where a JSON body holds a NUL byte or a non-finite number; nothing if it is not JSON."""
    try:
        document = json.loads(
            body, parse_constant=lambda _name: _NON_FINITE, parse_float=_finite_or_flag
        )
    except (ValueError, RecursionError):
        return []  # not JSON: FastAPI's own parsing answers it
    return list(_walk(document))


def _walk(document: Any) -> Iterator[tuple[Location, str]]:
    # A stack, not recursion: the body may nest as deeply as the JSON reader allowed.
    stack: list[tuple[Location, Any]] = [(("body",), document)]
    while stack:
        where, value = stack.pop()
        if value is _NON_FINITE:
            yield where, NON_FINITE_MESSAGE
        elif isinstance(value, str) and NUL in value:
            yield where, NUL_MESSAGE
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                if NUL in key:
                    yield where, f"a field name: {NUL_MESSAGE}"
                stack.append(((*where, key), item))
        elif isinstance(value, list):
            stack.extend(
                ((*where, index), item) for index, item in reversed(list(enumerate(value)))
            )


def query_problems(query_string: bytes) -> list[tuple[Location, str]]:
    """The query parameters whose name or value holds a NUL byte (raw or as %00)."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return [
        (("query",) if NUL in name else ("query", name), NUL_MESSAGE)
        for name, value in pairs
        if NUL in name or NUL in value
    ]


def path_problems(scope: Scope) -> list[tuple[Location, str]]:
    """The path parameters (by name, where a documented route matches) that hold a NUL byte."""
    if NUL not in scope["path"]:
        return []
    params = _path_parameters(scope.get("app"), scope["path"])
    named: list[Location] = [("path", name) for name, value in params.items() if NUL in value]
    return [(where, NUL_MESSAGE) for where in named or [("path",)]]


def _path_parameters(app: Any, path: str) -> dict[str, str]:
    # Read from the app's OpenAPI document (made once, then cached): the route is not matched
    # yet where this runs, and the router's own tables are FastAPI's internals.
    openapi = getattr(app, "openapi", None)
    for template in openapi()["paths"] if openapi else ():
        found = compile_path(template)[0].match(path)
        if found:
            return found.groupdict()
    return {}


def _sends_json(scope: Scope) -> bool:
    """Whether FastAPI would read the body as JSON: no content type, or a JSON one."""
    content_type = dict(scope["headers"]).get(b"content-type")
    if content_type is None:
        return True
    message = Message()
    message["content-type"] = content_type.decode("latin-1")
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read once, handed on as if unread; then whatever else the client sends."""
    sent = False

    async def replayed() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return dict(await receive())
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def refusal(problems: list[tuple[Location, str]]) -> JSONResponse:
    return fields_answer(
        [field_entry(where, message, "hostile_input") for where, message in problems]
    )


class RefuseHostileInput:
    """ASGI middleware: 422 for NUL bytes in the path, query or JSON body, and non-finite numbers.

    Placed inside the size limit, so the body it reads whole is already bounded.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problems = path_problems(scope) + query_problems(scope["query_string"])
        if not problems and scope["method"] in ("POST", "PUT", "PATCH") and _sends_json(scope):
            try:
                body = await _read_body(receive)
            except HTTPException as exc:  # the size limit's 413, raised while reading
                answer = problem(exc.status_code, str(exc.detail), headers=exc.headers)
                await answer(scope, receive, send)
                return
            problems = json_problems(body)
            receive = _replay(body, receive)
        if problems:
            await refusal(problems)(scope, receive, send)
            return
        await self.app(scope, receive, send)
