"""`qa purge`: what is past its retention period goes; nothing in flight, nothing recent."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from services.notifications.models import Notification
from shared.access_trail import AccessRecord
from shared.db import create_db_engine, transaction
from shared.migrations import upgrade
from tests.tokens import ISSUER
from tooling.cli import main
from tooling.localstack.stack import StackInfo

NOW = datetime.now(UTC)


def notification(number: int, status: str, age_days: int) -> Notification:
    created = NOW - timedelta(days=age_days)
    return Notification(
        id=f"N-{number}",
        source_event_id=f"E-{number}",
        event_type="InadequateFound",
        kind="action",
        recipient_id="S0003",
        channel="email",
        case_id=f"CASE-{number}",
        subject="s",
        body_text="t",
        body_html="h",
        link="l",
        status=status,
        event_time=created,
        created_at=created,
    )


@pytest.fixture
def notifications_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'notifications.db'}"
    upgrade("notifications", url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setenv("NOTIFICATION_RETENTION_DAYS", "365")
    monkeypatch.setenv("ACCESS_TRAIL_RETENTION_DAYS", "730")
    return create_db_engine(url)


def test_purge_deletes_settled_notifications_and_trail_rows_past_retention(
    notifications_db, capsys
):
    with transaction(notifications_db) as session:
        session.add_all(
            [
                notification(1, "delivered", 400),  # settled, old: goes
                notification(2, "failed", 400),  # settled, old: goes
                notification(3, "pending", 400),  # still being delivered: stays
                notification(4, "held", 400),  # waiting for a digest: stays
                notification(5, "delivered", 300),  # within retention: stays
            ]
        )
        for age in (800, 100):
            session.add(
                AccessRecord(
                    at=NOW - timedelta(days=age),
                    who="S0003",
                    role="head_of_service",
                    action="GET /inbox/{staff_id}",
                    path="/inbox/S0003",
                    case_id=None,
                    outcome=200,
                )
            )
    assert main(["purge", "notifications"]) == 0
    printed = capsys.readouterr().out
    assert "deleted 1 access trail rows older than 730 days" in printed
    assert "deleted 2 settled notifications older than 365 days" in printed
    with transaction(notifications_db) as session:
        kept = sorted(n.id for n in session.exec(select(Notification)).all())
        trail = session.exec(select(AccessRecord)).all()
    assert kept == ["N-3", "N-4", "N-5"]
    assert len(trail) == 1


def test_purge_without_a_configured_service_says_what_is_missing(monkeypatch, capsys):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    with pytest.raises(SystemExit) as stopped:
        main(["purge", "audit"])
    assert stopped.value.code == 2
    assert "KAFKA_BOOTSTRAP_SERVERS" in capsys.readouterr().err


def test_purge_of_a_missing_database_says_where_it_looked_and_creates_nothing(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["purge", "scheduler"]) == 1
    assert f"no scheduler database at sqlite:///{tmp_path}/scheduler.db" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_purge_of_a_database_never_migrated_is_a_clear_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "audit.db").touch()
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["purge", "audit"]) == 1
    assert "is not a migrated audit database" in capsys.readouterr().err


@pytest.mark.parametrize("hours", ["0", "-1", "1000"])
def test_tokens_cannot_be_minted_expired_or_for_months(hours, capsys):
    with pytest.raises(SystemExit):
        main(["token", "S0003", "--hours", hours])
    assert "between 0 and 720 hours" in capsys.readouterr().err


def test_purge_beside_a_running_qa_run_uses_the_stacks_settings(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    data.mkdir()
    upgrade("notifications", f"sqlite:///{data / 'notifications.db'}")
    StackInfo(
        broker="Apache Kafka",
        bootstrap_servers="127.0.0.1:9",
        idempotent_producer=True,
        database="SQLite",
        database_urls={},
        data_dir=str(data),
        pid=os.getpid(),
        jwks_file=str(ISSUER.jwks_file),
    ).save(tmp_path / "stack.json")
    monkeypatch.setenv("QA_STACK_DIR", str(tmp_path))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("DATA_DIR", raising=False)
    assert main(["purge", "notifications"]) == 0
    assert "notifications: deleted 0 settled notifications" in capsys.readouterr().out
    assert "DATA_DIR" not in os.environ  # the stack's settings were lent, not left behind
