"""Revision 0005 moves the submission keys to their callers, keeping every key sent before."""

from sqlalchemy import create_engine, text

from shared.migrations import upgrade

AUDIT_ROW = (
    "INSERT INTO audits (id, case_id, audit_kind, service_area, team_id, area, practitioner_id, "
    "team_manager_id, auditor_id, overall_grade, domain_grades, voice_of_child_evidenced, "
    "could_be_better_if, themes, graded_at, recorded_at) VALUES ('AUD-1', 'CASE-1', 'learning', "
    "'early_help', 'EH-NORTH', 'north', 'S0006', 'S0005', 'S0003', 'good', '{}', 1, '[]', '[]', "
    "'2026-11-20 14:00:00', '2026-11-20 14:00:00')"
)


def test_a_key_sent_before_belongs_to_the_auditor_of_its_audit_after_the_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    upgrade("audit", url, "0004_audit_people")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(AUDIT_ROW))
        connection.execute(
            text(
                "INSERT INTO submission_keys (key, fingerprint, audit_id, created_at) "
                "VALUES ('key-of-2026', 'f1', 'AUD-1', '2026-11-20 14:00:00')"
            )
        )
    upgrade("audit", url)
    with engine.connect() as connection:
        keys = connection.execute(
            text("SELECT caller_id, key, audit_id FROM caller_submission_keys")
        ).all()
    engine.dispose()
    assert [tuple(row) for row in keys] == [("S0003", "key-of-2026", "AUD-1")]
