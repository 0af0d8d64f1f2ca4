"""The `qa` local stack as a newcomer uses it, and the no-Java fallback broker."""

import asyncio
import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

import tooling.localstack.stack as stack_module
from shared.calendar import WorkingDayCalendar, uk_day
from shared.kafka import BrokerPublisher, make_broker
from tests.conftest import USED
from tooling.localstack.mail import MailCatcher
from tooling.localstack.stack import LocalStack

QA = [sys.executable, "-m", "tooling.cli"]
AUDIT = {
    "case_id": "CASE-LOCAL-1",
    "auditor_id": "S0003",
    "team_id": "EH-NORTH",
    "practitioner_id": "S0006",
    "overall_grade": "inadequate",
    "voice_of_child": {"evidenced": True},
    "domain_grades": dict.fromkeys(
        ["assessment", "planning", "visits", "voice_of_child", "management_oversight", "recording"],
        "requires_improvement",
    ),
    # Recent: an audit graded more than a year ago is refused as a mistyped year.
    "graded_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
}


DEMO_LINE = re.compile(
    r"^demo: +(\d+) audits over the last 4 months \((\d+) new, (\d+) already there.* in ([\d.]+)s$"
)


def qa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*QA, *args], env=env, capture_output=True, text=True, timeout=60)


def wait_for_line(process: subprocess.Popen[str], text: str, timeout: float = 120) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line.rstrip())
        if text in line:
            return lines
    raise AssertionError(f"never saw {text!r}; output so far:\n" + "\n".join(lines))


def stack_env(root: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")
    }
    env["QA_STACK_DIR"] = str(root)
    return env


def start(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [*QA, *args], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        # Kafka, PostgreSQL, four services and the demo months before "Running": minutes on a
        # loaded two-core machine.
        return process, wait_for_line(process, "Running. Press Ctrl-C to stop.", timeout=240)
    except BaseException:
        process.kill()
        raise


def children(env: dict[str, str]) -> list[int]:
    return json.loads((Path(env["QA_STACK_DIR"]) / "stack.json").read_text())["child_pids"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return "zombie" not in Path(f"/proc/{pid}/status").read_text()


# Kafka, PostgreSQL, four services, the web front and the demo months, on a shared two-core
# machine.
@pytest.mark.timeout(360)
def test_qa_run_serves_the_audit_service_on_kafka_and_postgresql_then_stops_cleanly(
    server_root: Path,
):
    env = stack_env(server_root / "cli-stack")
    up, output = start(env, "run", "--postgres")
    try:
        assert any(
            line.startswith("broker:   Apache Kafka 4.1.1 (KRaft) at 127.0.0.1:") for line in output
        )
        assert any(line.startswith("database: PostgreSQL 18") for line in output)
        audit_url = next(line for line in output if line.startswith("audit: API ")).split()[2]
        addresses = [line for line in output if re.match(r"^\w+: (API )?http://", line)]
        assert addresses[0].startswith("web: http://127.0.0.1:")  # what people open comes first
        web_url = addresses[0].split()[1]
        assert "Who are you?" in httpx.get(f"{web_url}/sign-in", timeout=10).text
        # The demo months were seeded through the API before the stack said it was running.
        assert any(line.startswith("... Seeding the demo history: 50/") for line in output)
        [demo] = [m for line in output if (m := DEMO_LINE.match(line))]
        assert (int(demo.group(2)), int(demo.group(3))) == (int(demo.group(1)), 0)
        USED["qa run demo"] = f"qa run: {demo.group(1)} demo audits seeded in {demo.group(4)}s"
        assert httpx.get(f"{audit_url}/asyncapi.json", timeout=10).json()["asyncapi"] == "3.0.0"
        token = qa("token", "S0003", env=env).stdout.strip()
        assert httpx.post(f"{audit_url}/audits", json=AUDIT, timeout=10).status_code == 401
        submitted = httpx.post(
            f"{audit_url}/audits",
            json=AUDIT,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert submitted.status_code == 201, submitted.text
        assert httpx.get(f"{audit_url}/ready", timeout=10).json()["checks"] == {
            "database": True,
            "broker": True,
        }
        pids = children(env)
        assert len(pids) == 7  # Kafka, PostgreSQL, the four services and the web front
        # Across the four processes: audit -> scheduler -> notifications -> the mail catcher.
        graded = uk_day(datetime.fromisoformat(AUDIT["graded_at"]))
        due = WorkingDayCalendar().add_working_days(graded, 5)
        subject = (
            f"[Action] Reflective conversation due {due:%A} {due.day} {due:%B %Y}"
            " - case CASE-LOCAL-1"
        )
        mail = Path(env["QA_STACK_DIR"]) / "mail"

        def subjects() -> list[str]:
            return [
                message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"]
                for p in mail.glob("*.eml")
            ]

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and subject not in subjects():
            time.sleep(0.5)
        assert subjects().count(subject) == 1

        status = qa("stack", "status", env=env)
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.startswith("stack: running (pid ")
        health = {line.split()[0]: line.split()[2] for line in status.stdout.splitlines()[2:]}
        servers = ("broker", "database", "mail")
        services = ("web", "audit", "moderation", "scheduler", "notifications")
        assert health == {
            **dict.fromkeys(servers, "reachable"),
            **dict.fromkeys(services, "ready"),
        }, status.stdout
        assert qa("stack", "up", env=env).returncode == 1  # a second stack is refused

        down = qa("stack", "down", env=env)
        assert down.returncode == 0, down.stdout + down.stderr
        assert up.wait(timeout=10) == 0
        assert [pid for pid in pids if alive(pid)] == []
        after = qa("stack", "status", env=env)
        assert (after.returncode, after.stdout.strip()) == (1, "The local stack is not running.")
    finally:
        if up.poll() is None:  # the test failed part-way: stop everything it started
            qa("stack", "down", env=env)
            up.kill()


def test_after_qa_is_killed_down_cleans_up_and_the_stack_starts_again_in_the_same_folder(
    server_root: Path,
):
    env = stack_env(server_root / "restart-stack")
    first, _ = start(env, "stack", "up")
    pids = children(env)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert all(alive(pid) for pid in pids), "the broker outlives a killed qa"

    down = qa("stack", "down", env=env)
    assert (
        "Cleaned up after a stack that was no longer running (1 processes stopped)" in down.stdout
    )
    assert [pid for pid in pids if alive(pid)] == []

    second, output = start(env, "stack", "up")
    try:
        assert any(line.startswith("broker:   Apache Kafka 4.1.1 (KRaft)") for line in output)
        assert qa("stack", "status", env=env).returncode == 0
    finally:
        assert qa("stack", "down", env=env).returncode == 0
        second.wait(timeout=10)


async def test_without_java_the_stack_falls_back_to_tansu_with_a_warning(server_root, monkeypatch):
    monkeypatch.setattr(stack_module, "java_available", lambda: False)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    progress: list[str] = []
    stack = LocalStack(server_root / "tansu-stack")
    info = await asyncio.to_thread(stack.start, progress.append)
    try:
        assert any("Tansu (memory only)" in line for line in progress)
        assert info.broker.startswith("Tansu")
        assert info.environment()["KAFKA_IDEMPOTENT_PRODUCER"] == "false"
        async with make_broker(
            info.bootstrap_servers, client_id="fallback", idempotent_producer=False
        ) as broker:
            await BrokerPublisher(broker).publish("audit.graded", b"CASE-1", b"hello")
        consumer = AIOKafkaConsumer(
            "audit.graded",
            bootstrap_servers=info.bootstrap_servers,
            auto_offset_reset="earliest",
            group_id="fallback-check",
        )
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), timeout=30)
        finally:
            await consumer.stop()
        assert record.value == b"hello"
    finally:
        stack.stop()


def test_the_mail_catcher_keeps_one_copy_per_message_id(tmp_path: Path):
    catcher = MailCatcher(tmp_path / "mail")
    catcher.start()
    try:
        first, second = EmailMessage(), EmailMessage()
        for message, message_id in ((first, "<N-1@qa-platform>"), (second, "<N-2@qa-platform>")):
            message["Subject"], message["From"], message["To"] = (
                "s",
                "qa@localhost",
                "x@example.org",
            )
            message["Message-ID"] = message_id
            message.set_content("body")
        for message in (first, first, second):
            with smtplib.SMTP("127.0.0.1", catcher.port) as smtp:
                smtp.send_message(message)
    finally:
        catcher.stop()
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == [
        "00001-N-1@qa-platform.eml",
        "00002-N-2@qa-platform.eml",
    ]
    assert catcher.repeats == 1


def _postgres_pid(env: dict[str, str]) -> int | None:
    pid_file = Path(env["QA_STACK_DIR"]) / "postgres" / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split()[0])
    return pid if alive(pid) else None


@pytest.mark.timeout(300)
def test_a_part_that_dies_is_reported_and_qa_stack_restart_brings_it_back(server_root: Path):
    env = stack_env(server_root / "parts-stack")
    up, _ = start(env, "stack", "up", "--postgres")
    try:
        broker_pid, postgres_pid = children(env)[:2]
        for name, pid in (("kafka", broker_pid), ("postgres", postgres_pid)):
            os.kill(pid, signal.SIGKILL)
            wait_for_line(up, f"{name} has stopped: `qa stack restart {name}` starts it again")
            restarted = qa("stack", "restart", name, env=env)
            assert restarted.returncode == 0, restarted.stderr
            assert restarted.stdout.splitlines()[-1].startswith(
                {"kafka": "Apache Kafka restarted at", "postgres": "PostgreSQL restarted"}[name]
            )
            wait_for_line(up, f"{name} is running again")
        status = qa("stack", "status", env=env)
        assert status.returncode == 0, status.stdout
        new_postgres = _postgres_pid(env)
        assert new_postgres is not None
        assert new_postgres != postgres_pid
        assert set(children(env)[:2]).isdisjoint({broker_pid, postgres_pid})

        refused = qa("stack", "restart", "zookeeper", env=env)
        assert refused.returncode == 2
        assert "invalid choice: 'zookeeper'" in refused.stderr

        # Stopping stops the parts as they are now, the restarted ones included.
        servers = children(env)[:2]
        assert qa("stack", "down", env=env).returncode == 0
        up.wait(timeout=30)
        assert [pid for pid in servers if alive(pid)] == []
        assert _postgres_pid(env) is None
    finally:
        if up.poll() is None:
            qa("stack", "down", env=env)
            up.kill()


def test_restart_says_so_when_no_stack_runs(tmp_path: Path):
    refused = qa("stack", "restart", "kafka", env=stack_env(tmp_path / "none"))
    assert (refused.returncode, refused.stderr.strip()) == (1, "The local stack is not running.")
