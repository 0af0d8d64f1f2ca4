import math

from prometheus_client import REGISTRY, generate_latest

from services.audit.app import create_app
from services.audit.settings import AuditSettings


def test_metrics_still_answer_when_the_audit_database_cannot_be_read(tmp_path):
    # Never migrated: the month-to-date count has no table to read.
    create_app(AuditSettings(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path))
    assert b"qa_learning_audits_month_to_date" in generate_latest()
    assert math.isnan(REGISTRY.get_sample_value("qa_learning_audits_month_to_date"))
