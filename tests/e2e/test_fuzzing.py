"""Hostile input: every service's API fuzzed from its own OpenAPI schema with schemathesis.

Requests go to the running services (real Kafka, PostgreSQL) with the tokens of an assistant
director (who is also a moderator and a trained auditor, so most routes get past the guard) and
of an admin. Whatever the input, no answer may be a 5xx or carry a stack trace.
"""

from typing import Any

import pytest
import schemathesis
import schemathesis.pytest
from hypothesis import HealthCheck, settings

from tests.conftest import USED
from tests.e2e.conftest import System
from tests.tokens import bearer

CALLERS = ("S0001", "S9001")  # an assistant director (moderator, auditor) and an admin
EXAMPLES_PER_ROUTE = 25
_requests: dict[str, int] = {}


def fuzz(service: str) -> tuple[Any, Any]:
    """A fixture loading the running service's schema, and the test fuzzing it."""

    @pytest.fixture
    def served_schema(system: System) -> Any:
        return schemathesis.openapi.from_url(f"{system.url(service)}/openapi.json")

    schema = schemathesis.pytest.from_fixture(f"{service}_schema")

    @schema.parametrize()
    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same inputs on every run, so a failure reproduces
    )
    def test(case: Any) -> None:
        for caller in CALLERS:
            response = case.call(headers=bearer(caller))
            _requests[service] = _requests.get(service, 0) + 1
            USED["fuzzing"] = "fuzzing: " + ", ".join(
                f"{name} {count} requests" for name, count in _requests.items()
            )
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} answered {response.status_code}: "
                f"{response.text[:300]}"
            )
            assert "Traceback" not in response.text
            assert 'File "' not in response.text

    return served_schema, test


audit_schema, test_audit_api_survives_fuzzing = fuzz("audit")
moderation_schema, test_moderation_api_survives_fuzzing = fuzz("moderation")
scheduler_schema, test_scheduler_api_survives_fuzzing = fuzz("scheduler")
notifications_schema, test_notifications_api_survives_fuzzing = fuzz("notifications")
