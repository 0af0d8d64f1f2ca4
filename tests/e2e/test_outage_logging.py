"""A broker outage seen from one service process: a few log lines, not thousands; the state in
/ready and `qa_dependency_up`; what waits in `qa_outbox_backlog`; and every line JSON.

The audit service runs as its own process on a broker of this module's own (so stopping it
disturbs no other test), with its embedded SQLite database. The broker is killed with SIGKILL
for `OUTAGE_SECONDS` while an event waits in the outbox, then started again on its port and data.
"""

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from services.catalogue import FRONT, SERVICE_NAMES
from shared.events.topics import AUDIT_GRADED
from tests.conftest import USED
from tests.e2e.conftest import wait_for
from tests.e2e.test_system import audit, case_ref
from tests.tokens import ISSUER, bearer
from tooling.localstack.kafka import KafkaServer, java_available
from tooling.localstack.services import ServiceProcess, web_environment
from tooling.localstack.stack import StackInfo
from tooling.localstack.topics import PARTITIONS, ensure_topics

OUTAGE_SECONDS = 32
MOST_LINES_IN_OUTAGE = 20
"""Before: about 85 lines a second from aiokafka alone (some 2,700 in 32 s)."""


@pytest.fixture(scope="module")
def own_kafka(server_root: Path) -> Iterator[KafkaServer]:
    if not java_available():
        pytest.skip("Java is not installed, so Apache Kafka cannot run")
    kafka = KafkaServer(server_root / f"outage-kafka-{uuid.uuid4().hex[:6]}")
    kafka.start()
    asyncio.run(ensure_topics(kafka.bootstrap_servers))
    yield kafka
    kafka.stop()


@pytest.fixture(scope="module")
def stack(own_kafka: KafkaServer, server_root: Path) -> StackInfo:
    return StackInfo(
        broker="Apache Kafka",
        bootstrap_servers=own_kafka.bootstrap_servers,
        idempotent_producer=True,
        database="SQLite",
        database_urls={},  # each service's embedded default, under data_dir
        data_dir=str(server_root / f"outage-data-{uuid.uuid4().hex[:6]}"),
        pid=0,
    )


@pytest.fixture
def audit_service(stack: StackInfo, tmp_path: Path) -> Iterator[ServiceProcess]:
    service = ServiceProcess("audit", tmp_path / "logs")
    service.start(stack)
    yield service
    service.stop()


def log_lines(service: ServiceProcess) -> list[str]:
    return service.log_file.read_text(errors="replace").splitlines()


def entries(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def messages(lines: list[str]) -> list[str]:
    return [entry["message"] for entry in entries(lines)]


def metric(service: ServiceProcess, name: str, **labels: str) -> float | None:
    text = httpx.get(f"{service.url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def ready(service: ServiceProcess) -> httpx.Response:
    return httpx.get(f"{service.url}/ready", timeout=15)


async def _on_topic(bootstrap: str, topic: str, key: bytes) -> bool:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        batches = await consumer.getmany(timeout_ms=2000)
        return any(record.key == key for batch in batches.values() for record in batch)
    finally:
        await consumer.stop()


def test_a_broker_outage_is_logged_in_a_few_lines_and_seen_in_ready_and_the_gauges(
    own_kafka: KafkaServer, audit_service: ServiceProcess
):
    service, case = audit_service, case_ref()
    assert metric(service, "qa_dependency_up", dependency="broker") == 1
    before = len(log_lines(service))

    own_kafka.process.kill()  # kill -9: no goodbye to the clients
    own_kafka.process.wait()
    stopped = time.monotonic()
    body = audit(case, "good")
    submitted = httpx.post(
        f"{service.url}/audits",
        json=body,
        headers={**bearer(body["auditor_id"]), "Idempotency-Key": str(uuid.uuid4())},
        timeout=15,
    )
    assert submitted.status_code == 201, submitted.text  # the outbox keeps it; Kafka can wait

    down = wait_for(lambda: (r := ready(service)).status_code == 503 and r, "/ready 503", 30)
    answer = down.json()  # type: ignore[union-attr]
    assert answer["down"] == ["broker"]
    assert answer["detail"] == "not ready: broker is unavailable"
    assert answer["dependencies"]["broker"]["up"] is False
    assert answer["dependencies"]["database"] == {"up": True}
    assert metric(service, "qa_dependency_up", dependency="broker") == 0
    assert metric(service, "qa_dependency_up", dependency="database") == 1
    wait_for(lambda: (metric(service, "qa_outbox_backlog") or 0) >= 1, "the backlog shown", 30)

    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
    during = log_lines(service)[before:]
    own_kafka.start()
    restarted = time.monotonic()

    # The requests this test makes are logged one line each (shared.access_log): not noise.
    noise = [line for line in during if "route" not in json.loads(line)]
    said = messages(noise)
    rate = len(noise) / OUTAGE_SECONDS
    USED["outage-logging"] = (
        f"outage logging: {len(noise)} log lines in {OUTAGE_SECONDS} s of broker outage "
        f"({rate:.2f}/s; about 85/s before), {said.count('broker still unavailable')} reminders, "
        f"besides {len(during) - len(noise)} lines for the test's own requests"
    )
    print(USED["outage-logging"])
    assert len(noise) < MOST_LINES_IN_OUTAGE, "\n".join(noise)
    assert said.count("broker unavailable") == 1
    first = next(e for e in entries(noise) if e["message"] == "broker unavailable")
    assert (first["level"], first["dependency"]) == ("ERROR", "broker")
    assert first["error"]  # the error type that showed it: NoAnswer, TimeoutError...
    assert "broker available again" not in said

    wait_for(lambda: ready(service).status_code == 200, "/ready 200 after the restart", 90)
    wait_for(lambda: metric(service, "qa_outbox_backlog") == 0, "the backlog published", 90)
    assert metric(service, "qa_dependency_up", dependency="broker") == 1
    assert ready(service).json()["dependencies"]["broker"] == {"up": True}
    bootstrap = own_kafka.bootstrap_servers
    wait_for(lambda: asyncio.run(_on_topic(bootstrap, AUDIT_GRADED, case.encode())), "event", 60)
    after = messages(log_lines(service)[before:])
    assert after.count("broker available again") == 1
    assert after.count("broker unavailable") == 1
    back = next(e for e in entries(log_lines(service)) if e["message"] == "broker available again")
    assert OUTAGE_SECONDS - 10 < back["seconds_away"] < time.monotonic() - stopped
    print(f"broker back for the service {time.monotonic() - restarted:.1f} s after its restart")


def test_every_line_a_service_writes_from_start_to_stop_is_json(stack: StackInfo, tmp_path: Path):
    audit_service = ServiceProcess("audit", tmp_path / "logs")
    audit_service.start(stack)
    web = ServiceProcess(FRONT.name, tmp_path / "logs")
    try:
        apis = dict.fromkeys(SERVICE_NAMES, audit_service.url)  # only the audit one is asked
        web.start(stack, web_environment(ISSUER.folder, apis))
        assert httpx.get(f"{web.url}/", timeout=10).status_code < 500
        assert ready(audit_service).status_code == 200
    finally:
        web.stop()
        audit_service.stop()
    for process in (audit_service, web):
        lines = log_lines(process)
        assert lines, f"{process.name} wrote nothing"
        for line in lines:
            entry = json.loads(line)  # every line, the libraries' start-up lines included
            assert entry["service"] == process.name, line
