"""Hostile input: every service's API fuzzed from its own OpenAPI schema with schemathesis.

Requests go to the running services (real Kafka, PostgreSQL) with the tokens of an assistant
director (who is also a moderator and a trained auditor, so most routes get past the guard) and
of an admin. Valid and deliberately invalid inputs alike: no answer may be a 5xx or carry a
stack trace. Inputs are derandomised, so a failure reproduces on the next run.
"""

import contextlib
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from services.catalogue import SERVICES
from tests.conftest import USED
from tests.e2e.conftest import System
from tests.tokens import bearer

PERMISSIONS = {service.name: service.route_permissions for service in SERVICES}

CALLERS = ("S0001", "S9001")  # an assistant director (moderator, auditor) and an admin
EXAMPLES_PER_ROUTE = 15
_requests: dict[str, int] = {}


def inputs(operation: Any) -> st.SearchStrategy[Any]:
    """Schema-valid cases and cases that break the schema on purpose."""
    modes = [operation.as_strategy(GenerationMode.POSITIVE)]
    # Some operations have nothing to negate; then only valid inputs are generated.
    with contextlib.suppress(Exception):
        modes.append(operation.as_strategy(GenerationMode.NEGATIVE))
    return st.one_of(modes)


@pytest.mark.parametrize("service", tuple(PERMISSIONS))
def test_no_input_makes_a_service_fail_or_show_a_stack_trace(system: System, service: str):
    schema = schemathesis.openapi.from_url(f"{system.url(service)}/openapi.json")
    problems: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=inputs(operation))
        @settings(
            max_examples=EXAMPLES_PER_ROUTE,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def probe(case: Any) -> None:
            # Alternate the two callers: half the requests, both kinds of caller on every route.
            caller = CALLERS[_requests.get(service, 0) % len(CALLERS)]
            response = case.call(base_url=system.url(service), headers=bearer(caller))
            _requests[service] = _requests.get(service, 0) + 1
            if response.status_code >= 500 or "Traceback" in response.text:
                problems.append(
                    f"{case.method} {case.formatted_path} as {caller} -> "
                    f"{response.status_code}: {response.text[:200]}"
                )

        probe()
    USED["fuzzing"] = "fuzzing (schemathesis): " + ", ".join(
        f"{name} {count} requests" for name, count in _requests.items()
    )
    assert _requests[service] > 0
    assert problems == []
