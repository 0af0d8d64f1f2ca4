"""HTTP request metrics of every service, recorded by prometheus-fastapi-instrumentator.

Requests are counted and timed by route *template* (`/followups/{followup_id}`), method and
status class, on the default registry, so the service's own `/metrics` (shared.http) shows them.
Raw paths carry case and record ids: as labels they would leak them into Prometheus and make
the number of series unbounded, so a path no route matches is counted under `none`.
"""

from collections.abc import Callable

from fastapi import FastAPI
from prometheus_fastapi_instrumentator import Instrumentator, metrics
from prometheus_fastapi_instrumentator.routing import get_route_name
from starlette.requests import HTTPConnection
from starlette.types import Scope

UNMATCHED = "none"
"""The one label of every path no route matches (the library's own name for it)."""
UNMEASURED = frozenset({"/metrics", "/health", "/ready"})
"""Probes and scrapes: frequent, cheap and not what anyone asked the service for."""
TRAILING_SLASH_REDIRECTS = frozenset({307, 308})

# Created once per process, like shared.metrics: a second app in the same process (tests)
# records into the same series instead of the library quietly skipping the duplicate.
_RECORDERS = [
    recorder
    for recorder in (
        metrics.requests(
            metric_doc="HTTP requests answered, by route template, method and status class."
        ),
        metrics.latency(
            metric_doc="Time to answer an HTTP request, by route template, method and status "
            "class.",
        ),
    )
    if recorder is not None
]


def route_label(template: str | None, path: str, status: int) -> str:
    """The label a request is counted under: its route's template, never its raw path.

    The instrumentator reports the raw path for a request Starlette redirects to add or drop
    a trailing slash (`/followups/F-1/`); that path carries an id, so it is unmatched too.
    """
    if template is None or (status in TRAILING_SLASH_REDIRECTS and template == path):
        return UNMATCHED
    return template


def route_template(scope: Scope, status: int) -> str:
    """`route_label` of the route the app in `scope` matches for the request."""
    template = get_route_name(HTTPConnection(scope), should_include_root_path=False)
    return route_label(template, scope["path"], status)


def _by_template(record: Callable[[metrics.Info], None]) -> Callable[[metrics.Info], None]:
    def instrumentation(info: metrics.Info) -> None:
        status = info.response.status_code if info.response is not None else 500
        if info.modified_handler != UNMATCHED:
            info.modified_handler = route_label(
                info.modified_handler, info.request.url.path, status
            )
        record(info)

    return instrumentation


def instrument(app: FastAPI) -> None:
    """Count and time every request `app` answers (add it after the app's other middleware,
    so refusals by the outer layers are counted too)."""
    Instrumentator(
        should_group_status_codes=True,
        should_group_untemplated=True,
        excluded_handlers=[f"^{path}$" for path in sorted(UNMEASURED)],
    ).add(*(_by_template(record) for record in _RECORDERS)).instrument(app)
