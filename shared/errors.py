"""What a use case raises when it cannot do what was asked, and the one way every error is answered.

Every error answer of every service is a problem document (RFC 9457), made by `problem` and
sent as `application/problem+json`:

    {"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
     "detail": "2 fields need attention: case_id, summary",
     "errors": [{"loc": ["body", "case_id"], "field": "case_id",
                 "msg": "a case reference looks like CASE-000123: ...",
                 "type": "string_pattern_mismatch"}, ...]}

`type` is always "about:blank", so `title` is the status's reason phrase and `status` says the
kind; what went wrong is `detail`, one sentence a person can act on. A 422 (a malformed request
or a broken rule, read alike) adds `errors`, one entry per field: `loc` (where: `body`, `query`,
`path`, `header`, then the field), `field` (its name, dotted), `msg` (a phrase that follows
the name, made by shared.validation_messages, never echoing the input), `type` (pydantic's
error type, or the rule's, e.g. `audit_rule`), and `ctx` (the rule's limits; for a warning,
`confirm`: the code that confirms it). Installed on every service by `ServiceRuntime.secure`,
which also declares the `Problem` schema for every documented error answer in the OpenAPI.
"""

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from shared.db import is_infrastructure_failure
from shared.validation_messages import constraints, field_message

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
ABOUT_BLANK = "about:blank"


class NotFound(LookupError):
    """No such record; the message names what was looked for."""


class Conflict(Exception):
    """The record's state does not allow this now (e.g. already recorded differently)."""


@dataclass(frozen=True)
class FieldProblem:
    """One rule a field breaks: where it is (`body`, `header`, `query`), its name, and why."""

    field: str
    message: str
    where: str = "body"
    confirm: str | None = None
    """For a warning rather than a refusal: the code that confirms it (shared.confirmations)."""


class RuleBroken(ValueError):
    """Well-formed, but against the rules; each problem names its field.

    `rule` is the error `type` clients see, e.g. `audit_rule`, naming whose rules they are.
    """

    def __init__(self, rule: str, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.rule = rule
        self.problems = problems


class ProblemField(BaseModel):
    """One field of a 422 and what is wrong with it."""

    loc: list[str | int] = Field(description="Where: body, query, path or header, then the field")
    field: str = Field(description="The field's name, dotted where it is nested")
    msg: str = Field(description="What is wrong, a phrase that follows the field's name")
    type: str = Field(description="The kind of error, e.g. missing or audit_rule")
    ctx: dict[str, Any] | None = Field(
        default=None, description="The rule's limits; `confirm`: the code that keeps a warning"
    )


class Problem(BaseModel):
    """An error answer (RFC 9457 problem document)."""

    type: str = Field(default=ABOUT_BLANK, description="Always about:blank: `status` says it")
    title: str = Field(description="The status's reason phrase, e.g. Not Found")
    status: int
    detail: str = Field(description="What went wrong, in one sentence a person can act on")
    errors: list[ProblemField] | None = Field(default=None, description="For a 422: each field")


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_: str = ABOUT_BLANK,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one way an error is answered: a problem document with the status's reason phrase."""
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def field_entry(
    loc: Sequence[str | int], msg: str, type_: str, ctx: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One entry of a 422's `errors`."""
    entry: dict[str, Any] = {"loc": list(loc), "field": field_name(loc), "msg": msg, "type": type_}
    return entry | ({"ctx": dict(ctx)} if ctx else {})


def field_name(loc: Sequence[str | int]) -> str:
    """`agreed_actions[0].text` for ["body", "agreed_actions", 0, "text"]; the body itself
    (or a query, path or header as a whole) is named by where it is."""
    name = ""
    for part in loc[1:] if len(loc) > 1 else loc:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name


def fields_answer(entries: Sequence[Mapping[str, Any]]) -> JSONResponse:
    """422 naming each field; `detail` is the one message, or which fields need attention."""
    names = list(dict.fromkeys(str(entry["field"]) for entry in entries))
    if len(names) == 1:
        messages = "; ".join(dict.fromkeys(str(entry["msg"]) for entry in entries))
        detail = f"{names[0]}: {messages}"
    else:
        detail = f"{len(names)} fields need attention: {', '.join(names)}"
    return problem(422, detail, errors=entries)


NO_ROUTE = "there is nothing at this address: check it against the API documentation"
"""The `detail` of a 404 for a path no route serves (a route's own 404 names what is missing)."""
RETRY_AFTER_SECONDS = 5
"""What an outage answer tells callers to wait: a database or broker restart takes seconds."""


def install_error_answers(app: FastAPI) -> None:
    """Answer every error with a problem document: NotFound 404, Conflict 409, RuleBroken and a
    malformed request 422, any HTTPException its own status, an unreachable dependency 503 with
    Retry-After, and a fault of ours 500; and declare them so in the app's OpenAPI."""
    for failure in (DBAPIError, ConnectionError, TimeoutError):
        app.add_exception_handler(failure, _unavailable)
    handlers: dict[type[Exception], Callable[..., Any]] = {
        NotFound: _not_found,
        Conflict: _conflict,
        RuleBroken: _rule_broken,
        RequestValidationError: _malformed,
        HTTPException: _http_error,
        Exception: _fault,
    }
    for exception, handler in handlers.items():
        app.add_exception_handler(exception, handler)
    _declare_problems(app)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    if not is_infrastructure_failure(exc):
        raise exc  # a real fault of ours: the server's 500, and the log says what
    log.warning("dependency unreachable", extra={"error": type(exc).__name__})
    return unavailable_answer("a service this one needs could not be reached")


def unavailable_answer(what: str) -> JSONResponse:
    """503 that says to try again, and when."""
    return problem(
        503,
        f"{what}; nothing was changed, try again in a few seconds",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _not_found(_request: Request, exc: NotFound) -> JSONResponse:
    return problem(404, str(exc))


async def _conflict(_request: Request, exc: Conflict) -> JSONResponse:
    return problem(409, str(exc))


async def _rule_broken(_request: Request, exc: RuleBroken) -> JSONResponse:
    return fields_answer(
        [
            field_entry(
                [p.where, p.field],
                p.message,
                exc.rule,
                {"confirm": p.confirm} if p.confirm else None,
            )
            for p in exc.problems
        ]
    )


async def _malformed(_request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's own answer carries each `input`: a refused text would come back as it was sent.
    return fields_answer(
        [
            field_entry(
                error["loc"], field_message(error), error["type"], constraints(error.get("ctx"))
            )
            for error in exc.errors()
        ]
    )


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    headers = dict(exc.headers or {})
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":  # no such route
        detail = NO_ROUTE
    elif exc.status_code == 405:
        allowed = headers.get("Allow") or "other methods"
        detail = f"this address does not take {request.method}; it takes {allowed}"
    return problem(
        exc.status_code, detail, headers=headers, errors=[] if exc.status_code == 422 else None
    )


async def _fault(_request: Request, _exc: Exception) -> JSONResponse:
    # The server still logs the exception; the caller gets no trace of it.
    return problem(
        500,
        "something went wrong on our side; try again, and if it happens again "
        "tell the service desk the time it happened",
    )


def _declare_problems(app: FastAPI) -> None:
    """Document every error answer in the app's OpenAPI as a `Problem`, once it is made."""
    make = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_problems(make())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


PROBLEM_REF = "#/components/schemas/Problem"
_FASTAPI_422 = ("HTTPValidationError", "ValidationError")


def with_problems(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with each 4xx and 5xx answer a `Problem`, instead of FastAPI's 422 shape."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for code, answer in operation.get("responses", {}).items():
                if str(code)[0] in "45":
                    answer["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in _FASTAPI_422:
        if f'"#/components/schemas/{unused}"' not in json.dumps(document):
            schemas.pop(unused, None)
    definition = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(definition.pop("$defs", {}), Problem=definition)
    return document
