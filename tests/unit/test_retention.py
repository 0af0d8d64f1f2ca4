"""`qa purge`: what is past its retention period goes; nothing in flight, nothing recent."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from services.audit.models import Audit, AuditModerator, SubmissionKey
from services.catalogue import BY_NAME
from services.moderation.models import Moderation
from services.notifications.models import Notification
from services.scheduler.models import (
    AuditFact,
    FollowUp,
    ModerationFact,
    ModeratorFact,
    RefusedReauditRecord,
    TimelineEntry,
    Timer,
)
from shared.access_trail import AccessRecord
from shared.db import create_db_engine, transaction
from shared.inbox import ProcessedEvent
from shared.migrations import upgrade
from shared.outbox import OutboxMessage
from shared.retention import TopicRetention
from shared.settings import ServiceSettings
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
    assert "between 0 and 12 hours" in capsys.readouterr().err


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


# --- every table's retention, on SQLite and PostgreSQL ---------------------------------------

DAY = timedelta(days=1)
SIX_YEARS = timedelta(days=2192)


def migrated(engine, service: str):
    upgrade(service, engine.url.render_as_string(hide_password=False))
    return engine


def remaining(engine, *columns) -> list[list[object]]:
    with transaction(engine) as session:
        return [sorted(session.exec(select(column)).all()) for column in columns]


def purged(service: str, engine) -> dict[str, int]:
    settings = BY_NAME[service].settings(kafka_bootstrap_servers="127.0.0.1:9")
    return dict(step(engine, NOW, settings) for step in BY_NAME[service].all_purges)


def outbox(number: int, sent_days_ago: int | None) -> OutboxMessage:
    sent = None if sent_days_ago is None else NOW - sent_days_ago * DAY
    return OutboxMessage(event_id=f"E-{number}", topic="t", key=b"k", value=b"v", published_at=sent)


def processed(number: int, days_ago: int) -> ProcessedEvent:
    return ProcessedEvent(
        consumer="c", event_source="/s", event_id=f"E-{number}", processed_at=NOW - days_ago * DAY
    )


def test_sent_outbox_rows_and_processed_event_ids_go_after_days(both_engines):
    engine = migrated(both_engines, "notifications")
    with transaction(engine) as session:
        session.add_all([outbox(1, 8), outbox(2, 6), outbox(3, None)])  # old unsent stays
        session.add_all([processed(1, 36), processed(2, 34)])
    gone = purged("notifications", engine)
    assert gone["outbox rows published more than 7 days ago"] == 1
    assert gone["processed-event ids older than 35 days"] == 1
    assert remaining(engine, OutboxMessage.event_id, ProcessedEvent.event_id) == [
        ["E-2", "E-3"],
        ["E-2"],
    ]


def audit(number: int, graded: datetime) -> Audit:
    return Audit(
        id=f"AUD-{number}",
        case_id=f"CASE-{number}",
        audit_kind="learning",
        service_area="early_help",
        team_id="EH-NORTH",
        area="north",
        practitioner_id="S0006",
        team_manager_id="S0005",
        auditor_id="S0003",
        overall_grade="good",
        domain_grades={},
        voice_of_child_evidenced=True,
        could_be_better_if=[],
        themes=[],
        graded_at=graded,
    )


def test_audits_go_six_years_after_grading_with_their_moderators_and_keys(both_engines):
    engine = migrated(both_engines, "audit")
    with transaction(engine) as session:
        for number, graded in ((1, NOW - SIX_YEARS - DAY), (2, NOW - SIX_YEARS + DAY)):
            session.add(audit(number, graded))
            session.add(
                AuditModerator(audit_id=f"AUD-{number}", moderator_id="S0002", moderation_id="M")
            )
            session.add(
                SubmissionKey(
                    caller_id="S0003", key=f"k{number}", fingerprint="f", audit_id=f"AUD-{number}"
                )
            )
    assert purged("audit", engine)["audits graded more than 2192 days ago"] == 1
    assert remaining(engine, Audit.id, AuditModerator.audit_id, SubmissionKey.audit_id) == [
        ["AUD-2"],
        ["AUD-2"],
        ["AUD-2"],
    ]


def moderation(number: int, moderated: datetime | None) -> Moderation:
    return Moderation(
        id=f"MOD-{number}",
        audit_id=f"AUD-{number}",
        case_id=f"CASE-{number}",
        service_area="early_help",
        team_id="EH-NORTH",
        auditor_id="S0003",
        team_manager_id="S0005",
        moderator_id="S0002",
        reason="sampled",
        auditor_grade="good",
        audit_graded_at=NOW - 3000 * DAY,
        requested_at=NOW - 3000 * DAY,
        status="open" if moderated is None else "completed",
        moderated_grade=None if moderated is None else "good",
        grade_difference=None if moderated is None else 0,
        moderated_at=moderated,
    )


def test_recorded_moderations_go_six_years_after_and_open_ones_never(both_engines):
    engine = migrated(both_engines, "moderation")
    with transaction(engine) as session:
        session.add_all(
            [
                moderation(1, NOW - SIX_YEARS - DAY),
                moderation(2, NOW - SIX_YEARS + DAY),
                moderation(3, None),  # requested 3000 days ago, still open
            ]
        )
    assert purged("moderation", engine)["moderations recorded more than 2192 days ago"] == 1
    assert remaining(engine, Moderation.id) == [["MOD-2", "MOD-3"]]


def followup(number: int, closed: datetime | None) -> FollowUp:
    long_ago = NOW - 3000 * DAY
    return FollowUp(
        id=f"FU-{number}",
        audit_id=f"AUD-{number}",
        case_id=f"CASE-{number}",
        service_area="early_help",
        team_id="EH-NORTH",
        found_by="auditor",
        grading_day=long_ago.date(),
        status="open" if closed is None else "completed",
        step="reaudit",
        owner_id="S0003",
        due_on=long_ago.date(),
        conversation_due_on=long_ago.date(),
        opened_at=long_ago,
        closed_at=closed,
    )


def facts(number: int, graded: datetime) -> list[object]:
    audit_id = f"AUD-{number}"
    return [
        AuditFact(
            audit_id=audit_id,
            case_id="C",
            auditor_id="S0003",
            overall_grade="inadequate",
            graded_at=graded,
        ),
        ModerationFact(
            audit_id=audit_id, moderation_id="M", moderated_grade="good", moderated_at=graded
        ),
        ModeratorFact(audit_id=audit_id, moderator_id="S0002", moderation_id="M"),
        TimelineEntry(followup_id=f"FU-{number}", at=graded, what="opened"),
        Timer(followup_id=f"FU-{number}", step="reaudit", kind="reminder", fire_at=graded),
        RefusedReauditRecord(
            audit_id=f"RE-{number}",
            followup_id=f"FU-{number}",
            auditor_id="S0009",
            reason="not_at_reaudit_step",
            refused_at=graded,
        ),
    ]


def test_follow_ups_go_six_years_after_closing_and_open_ones_keep_their_facts(both_engines):
    engine = migrated(both_engines, "scheduler")
    long_ago, lately = NOW - SIX_YEARS - DAY, NOW - SIX_YEARS + DAY
    with transaction(engine) as session:
        session.add_all([followup(1, long_ago), followup(2, lately), followup(3, None)])
        for number, graded in ((1, long_ago), (2, lately), (3, long_ago)):
            session.add_all(facts(number, graded))
    purged("scheduler", engine)
    kept = remaining(
        engine,
        FollowUp.id,
        TimelineEntry.followup_id,
        Timer.followup_id,
        RefusedReauditRecord.followup_id,
        AuditFact.audit_id,
        ModerationFact.audit_id,
        ModeratorFact.audit_id,
    )
    assert kept == [
        ["FU-2", "FU-3"],
        ["FU-2", "FU-3"],
        ["FU-2", "FU-3"],
        ["FU-2", "FU-3"],
        ["AUD-2", "AUD-3"],
        ["AUD-2", "AUD-3"],
        ["AUD-2", "AUD-3"],
    ]


def test_every_period_is_set_by_the_services_environment(notifications_db, monkeypatch, capsys):
    monkeypatch.setenv("SENT_EVENT_RETENTION_DAYS", "2")
    monkeypatch.setenv("PROCESSED_EVENT_RETENTION_DAYS", "20")
    with transaction(notifications_db) as session:
        session.add_all([outbox(1, 3), outbox(2, 1), processed(1, 21), processed(2, 19)])
    assert main(["purge", "notifications"]) == 0
    printed = capsys.readouterr().out
    assert "deleted 1 outbox rows published more than 2 days ago" in printed
    assert "deleted 1 processed-event ids older than 20 days" in printed


def test_case_records_are_kept_for_the_period_the_environment_sets(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'moderation.db'}"
    engine = migrated(create_db_engine(url), "moderation")
    monkeypatch.setenv("CASE_RECORD_RETENTION_DAYS", "3650")
    with transaction(engine) as session:
        session.add(moderation(1, NOW - SIX_YEARS - DAY))
    assert purged("moderation", engine)["moderations recorded more than 3650 days ago"] == 0


def test_processed_event_ids_outlive_every_topic_by_default():
    kept = TopicRetention()
    longest = max(kept.event_topic_retention_days, kept.dead_letter_retention_days)
    assert ServiceSettings.model_fields["processed_event_retention_days"].default > longest
