"""End-to-end scale-out: two replicas of every service in one consumer group each.

A second process of each service (same environment, same database, same consumer group, its
own HTTP port) joins the running one; both must really share the work (each holds partitions
and processes events), and a workload spread over both audit replicas must come out exactly
as the workload says it should: one moderation per sampled audit, one follow-up per Inadequate
finding with the right due date, one email per person per event, one event per fact on Kafka.
"""

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from services.catalogue import SERVICE_NAMES
from services.moderation.domain import moderation_reason
from shared.calendar import UK
from shared.events import CaseOpened, new_event
from shared.events.envelope import kafka_key, serialize
from shared.events.topics import (
    AUDIT_GRADED,
    AUDIT_INADEQUATE_FOUND,
    CASE_EVENTS,
    FOLLOWUP_SCHEDULED,
    MODERATION_REQUESTED,
)
from shared.events.vocabulary import Grade
from tests.conftest import USED
from tests.e2e.conftest import System, wait_for
from tests.e2e.test_resilience import CONSUMED
from tests.e2e.test_system import (
    ASSISTANT_DIRECTOR,
    AUDITOR,
    CALENDAR,
    HEAD,
    ORG,
    PRACTITIONER,
    TEAM_MANAGER,
    audit,
    case_ref,
)
from tests.integration.kafka_tools import group_members, read_all, topic_size
from tests.support import CASE_MANAGEMENT_SOURCE
from tooling.localstack.topics import PARTITIONS

READER = ASSISTANT_DIRECTOR  # sees every early help record
GRADES = (  # mostly not Inadequate, as in the report; every grade present
    "inadequate",
    "requires_improvement",
    "good",
    "requires_improvement",
    "inadequate",
    "outstanding",
)
AUDITS = 24


def _group(service: str) -> str:
    return f"qa-{service}"


def _partitions(service: str) -> set[TopicPartition]:
    """Every partition of every topic the service's consumer group reads."""
    return {
        TopicPartition(topic, partition)
        for topic, groups in CONSUMED.items()
        if _group(service) in groups
        for partition in range(PARTITIONS)
    }


def _groups(system: System) -> dict[str, tuple[str, list[set[TopicPartition]]]]:
    async def describe() -> dict[str, tuple[str, list[set[TopicPartition]]]]:
        bootstrap = system.stack.bootstrap_servers
        return {s: await group_members(bootstrap, _group(s)) for s in SERVICE_NAMES}

    return asyncio.run(describe())


def _settled(system: System, members: int) -> dict[str, list[set[TopicPartition]]] | None:
    """Each group stable with `members` members that between them hold every partition once,
    none of them idle; None while a rebalance is still going on."""
    groups = _groups(system)
    for service, (state, assigned) in groups.items():
        if state != "Stable" or len(assigned) != members or not all(assigned):
            return None
        if sorted(p for a in assigned for p in a) != sorted(_partitions(service)):
            return None
    return {service: assigned for service, (_, assigned) in groups.items()}


def _split(groups: dict[str, list[set[TopicPartition]]]) -> dict[str, set[frozenset]]:
    """Who holds what, whatever order the broker lists the members in."""
    return {service: {frozenset(m) for m in members} for service, members in groups.items()}


@pytest.fixture(scope="module")
def replicas(system: System) -> Iterator[dict[str, str]]:
    """A second replica of every service, stopped again so later tests run on one each."""
    try:
        with ThreadPoolExecutor(len(SERVICE_NAMES)) as pool:  # starting takes seconds each
            names = pool.map(system.start_replica, SERVICE_NAMES)
            started = dict(zip(SERVICE_NAMES, names, strict=True))
        yield started
    finally:
        running = [f"{s}-2" for s in SERVICE_NAMES if f"{s}-2" in system.services]
        with ThreadPoolExecutor(len(SERVICE_NAMES)) as pool:  # each waits for a clean shutdown
            list(pool.map(system.stop_replica, running))
        # Later tests should not start in the middle of the groups' rebalance back to one.
        wait_for(lambda: _settled(system, 1), "each consumer group back to one member", 60)


def _processed(system: System, name: str) -> float:
    """Events this one process has taken from Kafka and processed (not duplicates)."""
    text = system.get(name, "/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "qa_events_consumed_total" and sample.labels["outcome"] == "processed"
    )


async def _open_cases(bootstrap: str, cases: list[str]) -> None:
    """The case management system tells the case register who holds each case."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for case in cases:
            event = new_event(
                CaseOpened(
                    case_id=case,
                    team_id="EH-NORTH",
                    practitioner_id=PRACTITIONER,
                    team_manager_id=TEAM_MANAGER,
                    opened_at=datetime.now(UTC) - timedelta(days=30),
                ),
                source=CASE_MANAGEMENT_SOURCE,
            )
            await producer.send(CASE_EVENTS, serialize(event), key=kafka_key(event))
        await producer.flush()
    finally:
        await producer.stop()


def _post(system: System, target: str, body: dict, key: str) -> httpx.Response:
    return system.post(target, "/audits", body, as_=AUDITOR, **{"Idempotency-Key": key})


def _submit_registered(system: System, target: str, body: dict, key: str) -> httpx.Response:
    """Submit an audit that leaves its team to the case register, retrying (same key) with 422
    until whichever audit replica holds the case's partition has registered the case."""
    last: list[httpx.Response] = []

    def attempt() -> httpx.Response | None:
        last[:] = [_post(system, target, body, key)]
        return None if last[0].status_code == 422 else last[0]

    try:
        return wait_for(attempt, f"{body['case_id']} registered and accepted", 30)  # type: ignore[return-value]
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {last[0].text if last else ''}") from None


def _submit(system: System, i: int, case: str, grade: str, audits: list[str]) -> dict:
    """Submit audit `i` through the replica its number picks, sometimes checking that the
    replicas agree on idempotency keys: replayed on the other one, or sent to both at once."""
    target, other = audits[i % 2], audits[(i + 1) % 2]
    key = str(uuid.uuid4())
    if i % 6 == 3:  # one submission reaching both replicas at once (a client retry, say)
        body = audit(case, grade)  # with its team: no wait for the case register
        with ThreadPoolExecutor(2) as pool:
            both = list(pool.map(lambda t: _post(system, t, body, key), audits))
        assert [r.status_code for r in both] == [201, 201], [r.text for r in both]
        assert both[0].json()["id"] == both[1].json()["id"]
        assert sorted(r.headers.get("Idempotent-Replayed", "no") for r in both) == ["no", "true"]
        return both[0].json()
    body = audit(case, grade)
    del body["team_id"], body["practitioner_id"]  # the case register (case.events) knows them
    response = _submit_registered(system, target, body, key)
    assert response.status_code == 201, response.text
    if i % 6 == 0:  # the same key again, through the other replica: the same audit
        again = _post(system, other, body, key)
        assert again.status_code == 201, again.text
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json()["id"] == response.json()["id"]
    return response.json()


async def _events_by_case(bootstrap: str, topic: str, cases: set[str]) -> Counter:
    """How many events on `topic` are about each of `cases` (read from the beginning).

    Events are keyed by case id; other tests' records, poison included, have other keys."""
    records = await read_all(bootstrap, topic, await topic_size(bootstrap, topic), timeout=20)
    keys = (r.key.decode() for r in records if r.key is not None)
    return Counter(key for key in keys if key in cases)


def _mail(system: System, cases: set[str]) -> Counter:
    counts: Counter = Counter()
    for message in system.emails():
        subject = " ".join(message["Subject"].split())
        if any(f"case {case}" in subject for case in cases):
            counts[(str(message["To"]), subject)] += 1
    return counts


def _email(staff_id: str) -> str:
    return str(ORG.staff_by_id[staff_id].email)


def test_two_replicas_of_every_service_give_the_results_one_gives(
    system: System, replicas: dict[str, str]
):
    started = time.monotonic()
    # Both replicas of each service take part: each member holds partitions of every group.
    assigned = wait_for(lambda: _settled(system, 2), "two members in every consumer group", 60)
    audits = ["audit", replicas["audit"]]
    every = [*SERVICE_NAMES, *replicas.values()]
    for name in every:
        assert system.get(name, "/ready").status_code == 200, name
    before = {name: _processed(system, name) for name in every}
    rate = system.get("moderation", "/sampling", as_=READER).json()["early_help"]

    cases = [case_ref() for _ in range(AUDITS)]
    grades = [GRADES[i % len(GRADES)] for i in range(AUDITS)]
    asyncio.run(_open_cases(system.stack.bootstrap_servers, cases))
    with ThreadPoolExecutor(4) as pool:
        graded = list(
            pool.map(lambda i: _submit(system, i, cases[i], grades[i], audits), range(AUDITS))
        )

    # What one replica of each would do, from the workload and the rules alone.
    inadequate = {a["case_id"]: a for a in graded if a["overall_grade"] == "inadequate"}
    expected_reason = {
        a["id"]: reason
        for a in graded
        if (reason := moderation_reason(a["id"], Grade(a["overall_grade"]), rate)) is not None
    }
    assert len(inadequate) == AUDITS // 3  # the workload's own shape

    def ours(path: str, service: str, field: str, wanted: set[str]) -> list[dict]:
        items = system.get(service, path, as_=READER, limit=500).json()
        return [item for item in items if item[field] in wanted]

    followups = wait_for(
        lambda: (
            (found := ours("/followups", "scheduler", "case_id", set(cases)))
            and len(found) >= len(inadequate)
            and found
        ),
        "every follow-up",
    )
    moderations = wait_for(
        lambda: (
            (found := ours("/moderations", "moderation", "audit_id", set(expected_reason)))
            and len(found) >= len(expected_reason)
            and found
        ),
        "every moderation",
    )
    moderator_of = {m["audit_id"]: m["moderator_id"] for m in moderations}
    expected_mail: Counter = Counter()
    for a in graded:
        case, audit_id = a["case_id"], a["id"]
        if audit_id in expected_reason:
            subject = f"[Action] Please moderate audit {audit_id} - case {case}"
            expected_mail[(_email(moderator_of[audit_id]), subject)] += 1
        if case in inadequate:
            grading_day = datetime.fromisoformat(a["graded_at"]).astimezone(UK).date()
            due = CALENDAR.add_working_days(grading_day, 5)
            subject = (
                f"[Action] Reflective conversation due {due:%A} {due.day} {due:%B %Y} - case {case}"
            )
            expected_mail[(_email(HEAD), subject)] += 1
            told = f"[For information] Audit of case {case} graded Inadequate"
            for person in (TEAM_MANAGER, PRACTITIONER):
                expected_mail[(_email(person), told)] += 1
        else:  # every other audit tells its practitioner the outcome and the learning
            grade = a["overall_grade"].replace("_", " ").capitalize()
            learning = f"[For information] Audit of case {case} graded {grade}: your learning"
            expected_mail[(_email(PRACTITIONER), learning)] += 1
    wait_for(
        lambda: not expected_mail - _mail(system, set(cases)),
        "every email",
        90,
    )
    time.sleep(3)  # a double would come from a second delivery worker: give it time to show

    followups = ours("/followups", "scheduler", "case_id", set(cases))
    assert Counter(f["case_id"] for f in followups) == Counter(dict.fromkeys(inadequate, 1))
    for followup in followups:
        graded_audit = inadequate[followup["case_id"]]
        grading_day = datetime.fromisoformat(graded_audit["graded_at"]).astimezone(UK).date()
        assert followup["audit_id"] == graded_audit["id"]
        assert followup["due_on"] == CALENDAR.add_working_days(grading_day, 5).isoformat()
        assert (followup["step"], followup["owner_id"], followup["status"]) == (
            "reflective_conversation",
            HEAD,
            "open",
        )
    moderations = ours("/moderations", "moderation", "audit_id", {a["id"] for a in graded})
    assert Counter(m["audit_id"] for m in moderations) == Counter(dict.fromkeys(expected_reason, 1))
    assert {m["audit_id"]: m["reason"] for m in moderations} == expected_reason
    assert not {m["moderator_id"] for m in moderations} & {AUDITOR, TEAM_MANAGER}
    sent = _mail(system, set(cases))
    assert sent == expected_mail, {"missing": expected_mail - sent, "extra": sent - expected_mail}

    # One event per fact on Kafka: the two outbox relays of a service never both publish a row.
    bootstrap = system.stack.bootstrap_servers
    on_topics = {
        AUDIT_GRADED: Counter(dict.fromkeys(cases, 1)),
        AUDIT_INADEQUATE_FOUND: Counter(dict.fromkeys(inadequate, 1)),
        MODERATION_REQUESTED: Counter(a["case_id"] for a in graded if a["id"] in expected_reason),
        FOLLOWUP_SCHEDULED: Counter(dict.fromkeys(inadequate, 1)),
    }
    for topic, wanted in on_topics.items():
        assert asyncio.run(_events_by_case(bootstrap, topic, set(cases))) == wanted, topic

    # And the work really was shared: every process consumed some of it.
    done = {name: _processed(system, name) - before[name] for name in every}
    assert all(done.values()), done
    after = _settled(system, 2)
    assert after is not None, "a rebalance during the workload would blur the split"
    assert _split(after) == _split(assigned), "the members' partitions changed during the workload"

    USED["scale-out"] = (
        f"scale-out: 2 replicas each of {', '.join(SERVICE_NAMES)} "
        f"(2 members per consumer group, partitions split "
        f"{', '.join('/'.join(str(len(m)) for m in assigned[s]) for s in SERVICE_NAMES)}); "
        f"{AUDITS} audits over both audit replicas ({len(inadequate)} inadequate), "
        f"{len(moderations)} moderations (sample rate {rate}), {len(followups)} follow-ups, "
        f"{sum(sent.values())} emails, {sum(n > 1 for n in sent.values())} doubled; "
        f"events processed per replica "
        f"{', '.join(f'{s} {done[s]:.0f}/{done[replicas[s]]:.0f}' for s in SERVICE_NAMES)}; "
        f"{time.monotonic() - started:.0f}s"
    )
