"""`qa stack status`: every part and service with its address and health; the mail catcher's
numbering across runs of the same folder."""

import smtplib
import socket
import threading
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tooling.localstack.mail import MailCatcher, highest_number
from tooling.localstack.processes import free_port
from tooling.localstack.stack import StackInfo
from tooling.localstack.status import Row, readiness, service_rows, stack_rows, table

pytestmark = pytest.mark.unit


def test_the_table_lines_up_its_columns_and_leaves_no_trailing_spaces():
    rendered = table(
        [
            Row("broker", "127.0.0.1:9092", "reachable", "Apache Kafka 4.1.1 (KRaft)"),
            Row("audit", "http://127.0.0.1:8001", "not ready: broker down"),
        ]
    )
    assert rendered.splitlines() == [
        "PART    ADDRESS                HEALTH                  NOTE",
        "broker  127.0.0.1:9092         reachable               Apache Kafka 4.1.1 (KRaft)",
        "audit   http://127.0.0.1:8001  not ready: broker down",
    ]


def test_a_row_is_healthy_only_when_its_part_answers():
    assert Row("mail", "smtp://x", "reachable").healthy
    assert Row("database", "/data", "files").healthy
    assert Row("audit", "http://x", "ready").healthy
    assert not Row("broker", "x:1", "unreachable").healthy
    assert not Row("audit", "http://x", "not answering").healthy
    assert not Row("audit", "http://x", "not ready: broker down").healthy


class _Ready(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, bytes]] = {}

    def do_GET(self) -> None:
        status, body = self.answers[self.path]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def service_url():
    server = HTTPServer(("127.0.0.1", 0), _Ready)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_readiness_names_what_a_service_is_waiting_for(service_url: str):
    _Ready.answers = {
        "/ready": (503, b'{"status": "not ready", "checks": {"database": true, "broker": false}}')
    }
    assert readiness(service_url) == "not ready: broker down"
    _Ready.answers = {"/ready": (503, b"not json")}
    assert readiness(service_url) == "not ready (503)"
    _Ready.answers = {"/ready": (200, b'{"status": "ready"}')}
    assert readiness(service_url) == "ready"
    assert readiness(f"http://127.0.0.1:{free_port()}") == "not answering"


def test_services_are_listed_with_their_health_and_log(service_url: str, tmp_path: Path):
    _Ready.answers = {"/ready": (200, b"{}")}
    [row] = service_rows({"audit": service_url}, tmp_path)
    assert row == Row("audit", service_url, "ready", f"log {tmp_path / 'audit.log'}")


def _info(tmp_path: Path, **overrides: object) -> StackInfo:
    fields: dict = {
        "broker": "Apache Kafka 4.1.1 (KRaft)",
        "bootstrap_servers": f"127.0.0.1:{free_port()}",
        "idempotent_producer": True,
        "database": "SQLite (one file per service)",
        "database_urls": {},
        "data_dir": str(tmp_path / "data"),
        "pid": 1,
    }
    return StackInfo(**(fields | overrides))


def test_the_stack_parts_say_when_they_cannot_be_reached(tmp_path: Path):
    catcher = MailCatcher(tmp_path / "mail")
    catcher.start()
    try:
        postgres_port = free_port()
        info = _info(
            tmp_path,
            smtp_port=catcher.port,
            mail_dir=str(catcher.folder),
            database="PostgreSQL 18",
            database_urls={"audit": f"postgresql+psycopg://qa@127.0.0.1:{postgres_port}/audit"},
        )
        broker, database, mail = stack_rows(info)
    finally:
        catcher.stop()
    assert (broker.part, broker.health) == ("broker", "unreachable")
    assert database == Row("database", f"127.0.0.1:{postgres_port}", "unreachable", "PostgreSQL 18")
    assert mail == Row(
        "mail", f"smtp://127.0.0.1:{catcher.port}", "reachable", f"messages in {catcher.folder}"
    )


def test_sqlite_has_no_server_to_reach(tmp_path: Path):
    [_broker, database] = stack_rows(_info(tmp_path))
    assert database == Row(
        "database", str(tmp_path / "data"), "files", "SQLite (one file per service)"
    )


def _send(port: int, message_id: str) -> None:
    message = EmailMessage()
    message["Subject"], message["Message-ID"] = "test", f"<{message_id}>"
    message["From"], message["To"] = "qa@council.example", "head@council.example"
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(message)


def test_a_second_run_numbers_its_messages_after_the_highest_the_folder_holds(tmp_path: Path):
    folder = tmp_path / "mail"
    first = MailCatcher(folder)
    first.start()
    try:
        for n in range(3):
            _send(first.port, f"first-{n}@qa")
    finally:
        first.stop()
    next(folder.glob("00002-*.eml")).unlink()  # removed by hand: counting files would repeat 3
    second = MailCatcher(folder)
    second.start()
    try:
        _send(second.port, "second-0@qa")
    finally:
        second.stop()
    names = sorted(p.name for p in folder.glob("*.eml"))
    assert [name.split("-", 1)[0] for name in names] == ["00001", "00003", "00004"]
    assert names[-1].startswith("00004-second-0")
    assert highest_number(folder) == 4
    assert highest_number(tmp_path / "empty") == 0


def test_an_embedded_postgresql_is_reached_on_its_unix_socket(tmp_path: Path):
    folder = tmp_path / "sock"
    folder.mkdir()
    path = folder / ".s.PGSQL.5433"
    url = f"postgresql+psycopg://postgres@/audit?host={folder}&port=5433"
    info = _info(tmp_path, database="PostgreSQL 18", database_urls={"audit": url})
    assert stack_rows(info)[1] == Row("database", str(path), "unreachable", "PostgreSQL 18")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen()
        assert stack_rows(info)[1].health == "reachable"
