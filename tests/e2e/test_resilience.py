"""End-to-end resilience: poison on every consumed topic, kill -9 of each service in turn, and
the broker, the database and SMTP going away under a stream of audits."""

import asyncio
import threading
import time
import uuid
from collections import Counter

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.catalogue import SERVICE_NAMES, SERVICES
from shared.events.topics import dead_letter_topic
from tests.conftest import USED
from tests.e2e.conftest import System, wait_for
from tests.e2e.test_system import audit, case_ref, followup_of, submit

CONSUMED = {  # topic -> the consumer groups reading it, from each service's declaration
    topic: {f"qa-{service.name}" for service in SERVICES if topic in service.consumes}
    for topic in sorted({topic for service in SERVICES for topic in service.consumes})
}


async def _publish(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _dead_letters(bootstrap: str, topic: str, key: bytes) -> set[str]:
    """The consumer groups that dead-lettered a message with `key` from `topic`."""
    dlq = dead_letter_topic(topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(dlq, p) for p in range(3)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        groups = set()
        for batch in (await consumer.getmany(timeout_ms=1500)).values():
            groups |= {dict(r.headers)["dlq-consumer"].decode() for r in batch if r.key == key}
        return groups
    finally:
        await consumer.stop()


def test_malformed_messages_on_every_consumed_topic_are_dead_lettered_and_the_flow_goes_on(
    system: System,
):
    bootstrap = system.stack.bootstrap_servers
    key = f"POISON-{uuid.uuid4().hex[:8]}".encode()
    for topic in CONSUMED:
        asyncio.run(_publish(bootstrap, topic, key, b'{"type": "qa.audit.graded.v1", "oops"'))
    for topic, groups in CONSUMED.items():
        wait_for(
            lambda topic=topic, groups=groups: (
                asyncio.run(_dead_letters(bootstrap, topic, key)) >= groups
            ),
            f"dead letters of {topic}",
            90,
        )
    case = case_ref()  # and the flow still works behind the poison
    submit(system, audit(case, "inadequate"))
    followup_of(system, case, "open")


def _post_with_retries(system: System, body: dict) -> dict:
    """Submit one audit, retrying with the same idempotency key while the service restarts."""
    key = str(uuid.uuid4())

    def attempt():
        response = system.post(
            "audit", "/audits", body, as_=body["auditor_id"], **{"Idempotency-Key": key}
        )
        return response.json() if response.status_code == 201 else None

    return wait_for(attempt, f"audit of {body['case_id']} accepted", 90)


def test_killing_each_service_in_turn_loses_and_doubles_nothing(system: System):
    grades = ["inadequate", "good", "requires_improvement"]
    cases: list[tuple[str, str]] = []
    stop = threading.Event()

    def stream() -> None:
        n = 0
        while not stop.is_set():
            case, grade = case_ref(), grades[n % 3]
            _post_with_retries(system, audit(case, grade))
            cases.append((case, grade))
            n += 1
            stop.wait(0.2)

    feeder = threading.Thread(target=stream)
    feeder.start()
    try:
        for service in SERVICE_NAMES:
            stop.wait(2)
            system.kill(service)
            system.start(service)
    finally:
        stop.wait(2)
        stop.set()
        feeder.join()

    inadequate, sent, doubled = _followed_up_once_and_told_once(system, cases)
    USED["crash"] = (
        f"crash test: {len(cases)} audits ({len(inadequate)} inadequate) while each of "
        f"{', '.join(SERVICE_NAMES)} was killed with SIGKILL and restarted; "
        f"{len(inadequate)} follow-ups, {sum(sent.values())} emails, {len(doubled)} doubled "
        f"({system.mail.repeats} resends after a crash recognised by Message-ID)"
    )
    assert doubled == {}, {m: ids for m, ids in _message_ids(system).items() if m in doubled}


def test_the_broker_the_database_and_smtp_going_away_lose_and_double_nothing(
    system: System, kafka_server, postgres_server
):
    if kafka_server is None or postgres_server is None:
        pytest.skip("servers named by KAFKA_BOOTSTRAP_SERVERS or DATABASE_URL are not ours")
    grades = ["inadequate", "good", "requires_improvement"]
    cases: list[tuple[str, str]] = []
    answers: Counter = Counter()
    stop = threading.Event()

    def stream() -> None:
        n = 0
        while not stop.is_set():
            case, grade = case_ref(), grades[n % 3]
            _post_counting(system, audit(case, grade), answers)
            cases.append((case, grade))
            n += 1
            stop.wait(0.2)

    feeder = threading.Thread(target=stream)
    feeder.start()
    try:
        stop.wait(3)
        kafka_server.process.kill()  # kill -9: no shutdown, no flush
        kafka_server.process.wait()
        stop.wait(5)
        kafka_server.start()
        stop.wait(3)
        postgres_server.stop()
        stop.wait(5)
        postgres_server.start()
        stop.wait(3)
        system.mail.stop()  # SMTP refuses connections for a while
        stop.wait(10)
        system.mail.start()
    finally:
        stop.wait(3)
        stop.set()
        feeder.join()

    inadequate, sent, doubled = _followed_up_once_and_told_once(system, cases)
    USED["crash-servers"] = (
        f"crash test, servers: {len(cases)} audits ({len(inadequate)} inadequate) while Kafka "
        "was killed with SIGKILL and restarted, PostgreSQL stopped and started and SMTP "
        f"refused connections; answers {dict(sorted(answers.items(), key=str))}; "
        f"{len(inadequate)} follow-ups, {sum(sent.values())} emails, {len(doubled)} doubled"
    )
    assert doubled == {}, {m: ids for m, ids in _message_ids(system).items() if m in doubled}
    assert set(answers) <= {201, 503}, answers  # never a 500, never no answer
    assert answers[503] > 0, "the database outage was never seen: the test proved nothing"


def _post_counting(system: System, body: dict, answers: Counter) -> None:
    """Post until accepted, with one idempotency key; every answer counted, 500s included."""
    key = str(uuid.uuid4())
    while True:
        try:
            response = system.post(
                "audit", "/audits", body, as_=body["auditor_id"], **{"Idempotency-Key": key}
            )
        except httpx.TransportError:
            answers["no answer"] += 1
        else:
            answers[response.status_code] += 1
            if response.status_code == 201:
                return
        time.sleep(0.5)


def _followed_up_once_and_told_once(
    system: System, cases: list[tuple[str, str]]
) -> tuple[list[str], Counter, dict]:
    """Every Inadequate finding has exactly one follow-up, no other audit has one, and each
    Head of Service was told; the findings, the emails sent and those sent twice."""
    inadequate = [case for case, grade in cases if grade == "inadequate"]
    for case in inadequate:
        followup_of(system, case)
    listed = system.get("scheduler", "/followups", limit=500).json()
    followups = Counter(f["case_id"] for f in listed)
    assert {case: followups[case] for case in inadequate} == dict.fromkeys(inadequate, 1)
    assert not any(followups[case] for case, grade in cases if grade != "inadequate")

    def heads_told() -> bool:  # each finding's follow-up reaches the Head of Service
        subjects = [subject for _, subject in _mail_counts(system, set(inadequate))]
        return all(
            any(case in s and "Reflective conversation due" in s for s in subjects)
            for case in inadequate
        )

    # A notification claimed by a killed process waits out its lease (60 s), then goes.
    wait_for(heads_told, "every Head of Service email", 240)
    time.sleep(5)
    sent = _mail_counts(system, {c for c, _ in cases})
    return inadequate, sent, {message: n for message, n in sent.items() if n > 1}


def _mail_counts(system: System, cases: set[str]) -> Counter:
    counts: Counter = Counter()
    for message in system.emails():
        subject = " ".join(message["Subject"].split())
        if any(case in subject for case in cases):
            counts[(message["To"], subject)] += 1
    return counts


def _message_ids(system: System) -> dict[tuple[str, str], list[str]]:
    ids: dict[tuple[str, str], list[str]] = {}
    for message in system.emails():
        key = (message["To"], " ".join(message["Subject"].split()))
        ids.setdefault(key, []).append(f"{message['Message-ID']} {message['Date']}")
    return ids
