"""What a use case raises when it cannot do what was asked, and the one way each is answered.

Domain functions and handlers raise these; every service's app answers them alike (installed by
`ServiceRuntime.secure`): 404 and 409 with a sentence, 422 in FastAPI's own validation shape
with one entry per field, so clients read a broken rule and a malformed body the same way.
"""

import logging
from dataclasses import dataclass

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from shared.db import is_infrastructure_failure

log = logging.getLogger(__name__)


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


RETRY_AFTER_SECONDS = 5
"""What an outage answer tells callers to wait: a database or broker restart takes seconds."""


def install_error_answers(app: FastAPI) -> None:
    """Answer NotFound with 404, Conflict with 409 and RuleBroken with 422, wherever raised,
    and an unreachable dependency with 503 and Retry-After, never a 500."""
    for failure in (DBAPIError, ConnectionError, TimeoutError):
        app.add_exception_handler(failure, _unavailable)
    app.add_exception_handler(NotFound, _not_found)  # type: ignore[arg-type]
    app.add_exception_handler(Conflict, _conflict)  # type: ignore[arg-type]
    app.add_exception_handler(RuleBroken, _rule_broken)  # type: ignore[arg-type]


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    if not is_infrastructure_failure(exc):
        raise exc  # a real fault of ours: the server's 500, and the log says what
    log.warning("dependency unreachable", extra={"error": type(exc).__name__})
    return unavailable_answer("a service this one needs could not be reached")


def unavailable_answer(what: str) -> JSONResponse:
    """503 as a problem document (RFC 9457) that says to try again, and when."""
    return JSONResponse(
        {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": f"{what}; nothing was changed, try again in a few seconds",
        },
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        media_type="application/problem+json",
    )


async def _not_found(_request: Request, exc: NotFound) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)


async def _conflict(_request: Request, exc: Conflict) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)


async def _rule_broken(_request: Request, exc: RuleBroken) -> JSONResponse:
    detail = [
        {"loc": [problem.where, problem.field], "msg": problem.message, "type": exc.rule}
        | ({"ctx": {"confirm": problem.confirm}} if problem.confirm else {})
        for problem in exc.problems
    ]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
