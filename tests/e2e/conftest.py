"""The four services and the web front as separate OS processes on real Apache Kafka and
PostgreSQL.

Driven only through their HTTP APIs, Kafka topics and (the web front) a real browser, with a
real SMTP mail catcher.
"""

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from services.catalogue import FRONT, SERVICE_NAMES
from shared.clock import OffsetClock
from tests.tokens import ISSUER, bearer, service_bearer
from tooling.localstack.mail import MailCatcher
from tooling.localstack.postgres import create_database
from tooling.localstack.services import ServiceProcess, web_environment
from tooling.localstack.stack import StackInfo
from tooling.localstack.topics import ensure_topics


@dataclass
class System:
    stack: StackInfo
    logs: Path
    mail: MailCatcher
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    web: ServiceProcess | None = None
    """The web front; the services' notification links point at it."""
    clock: OffsetClock | None = None
    """Every service's clock: a test moves it on (`moved_clock`) instead of waiting days."""

    def url(self, service: str) -> str:
        return self.services[service].url

    def headers(self, as_: str | None) -> dict[str, str]:
        """The headers of a request made by person `as_` (staff id), or by a machine caller."""
        return bearer(as_) if as_ else service_bearer("e2e-tests")

    def get(
        self, service: str, path: str, as_: str | None = None, **params: object
    ) -> httpx.Response:
        return httpx.get(
            f"{self.url(service)}{path}",
            params=params,
            headers=self.headers(as_),
            timeout=10,  # type: ignore[arg-type]
        )

    def post(
        self, service: str, path: str, body: dict, as_: str | None = None, **headers: str
    ) -> httpx.Response:
        return httpx.post(
            f"{self.url(service)}{path}",
            json=body,
            headers={**self.headers(as_), **headers},
            timeout=10,
        )

    def put(self, service: str, path: str, body: dict, as_: str | None = None) -> httpx.Response:
        return httpx.put(
            f"{self.url(service)}{path}", json=body, headers=self.headers(as_), timeout=10
        )

    @property
    def links(self) -> dict[str, str]:
        # A refused email is given up after three tries, not ten: tests/e2e/test_timers.py. The
        # month's programme is drawn by the tests that need one (test_programme.py), not on its
        # configured day, which would take the other tests' cases. Timers and retries sleep until
        # they fall due by the clock; a test that moves the clock is seen within a second.
        return {
            "DELIVERY_MAX_ATTEMPTS": "3",
            "AUDIT_PROGRAMME_DRAW_DAY": "0",
            "TIMER_POLL_SECONDS": "1",
            "DELIVERY_POLL_SECONDS": "1",
        } | ({"RECORD_BASE_URL": self.web.url} if self.web else {})

    def start(self, service: str) -> None:
        process = ServiceProcess(service, self.logs)
        process.start(self.stack, self.links)
        self.services[service] = process

    def start_web(self) -> None:
        """The web front over the running services, trusting the tests' token issuer."""
        assert self.web is not None
        apis = {name: self.url(name) for name in SERVICE_NAMES}
        self.web.start(self.stack, web_environment(ISSUER.folder, apis))

    def start_replica(self, service: str) -> str:
        """One more process of `service`: the same environment, database and consumer group, its
        own port and log folder. Returns the name to address it by, e.g. `get("audit-2", ...)`."""
        name = f"{service}-2"
        process = ServiceProcess(service, self.logs / name)
        self.services[name] = process  # before it starts, so a failed start is still stopped
        process.start(self.stack, self.links)
        return name

    def stop_replica(self, name: str) -> None:
        self.services.pop(name).stop()

    def kill(self, service: str) -> None:
        """kill -9: no shutdown hooks, no flush, no goodbye."""
        process = self.services[service].process
        assert process is not None
        process.kill()
        process.wait()

    def emails(self) -> list[EmailMessage]:
        return [
            message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for path in sorted(self.mail.folder.glob("*.eml"))
        ]


def wait_for(check: Callable[[], object], what: str, timeout: float = 60) -> object:
    """Poll until `check` returns something truthy, and return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except httpx.TransportError:
            pass  # a service restarting
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="package")  # stopped before other tiers reuse the consumer groups
def system(kafka_bootstrap: str, postgres_admin_url: str, server_root: Path) -> Iterator[System]:
    asyncio.run(ensure_topics(kafka_bootstrap))
    run = uuid.uuid4().hex[:6]
    mail = MailCatcher(server_root / f"e2e-mail-{run}")
    mail.start()
    stack = StackInfo(
        broker="Apache Kafka",
        bootstrap_servers=kafka_bootstrap,
        idempotent_producer=True,
        database="PostgreSQL",
        database_urls={
            s: create_database(postgres_admin_url, f"e2e_{run}_{s}") for s in SERVICE_NAMES
        },
        data_dir=str(server_root / "e2e-data"),
        pid=0,
        smtp_port=mail.port,
        mail_dir=str(mail.folder),
        clock_offset_file=str(server_root / f"e2e-clock-{run}"),
    )
    logs = server_root / f"e2e-logs-{run}"
    clock = OffsetClock(Path(str(stack.clock_offset_file)))
    system = System(stack, logs, mail, web=ServiceProcess(FRONT.name, logs), clock=clock)
    try:
        for service in SERVICE_NAMES:
            system.start(service)
        system.start_web()
        yield system
    finally:
        for process in [*system.services.values(), system.web]:
            process.stop()
        mail.stop()


@pytest.fixture
def moved_clock(system: System) -> Iterator[OffsetClock]:
    """The services' clock for a test to move on; back to real time when the test ends, so
    the other tests' due dates are counted from today."""
    assert system.clock is not None
    yield system.clock
    system.clock.offset_file.write_text("0")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The log scan reads what every other end-to-end test made the services log: run it last."""
    last = [item for item in items if item.path.name == "test_privacy.py"]
    items[:] = [item for item in items if item not in last] + last


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """When an end-to-end test fails, show what each service logged at WARNING or above."""
    outcome = yield
    report = outcome.get_result()
    system = item.funcargs.get("system") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and isinstance(system, System):
        for log in sorted(system.logs.rglob("*.log")):  # replicas log in subfolders
            lines = [
                line
                for line in log.read_text(errors="replace").splitlines()
                if '"level": "WARNING"' in line or '"level": "ERROR"' in line
            ]
            name = log.relative_to(system.logs)
            report.sections.append((f"{name} (warnings and errors)", "\n".join(lines[-30:])))
        subjects = [f"{m['To']}: {m['Subject']}" for m in system.emails()]
        report.sections.append(("emails received", "\n".join(subjects[-40:])))
