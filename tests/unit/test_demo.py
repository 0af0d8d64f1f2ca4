"""The demo months `qa run` seeds: the report's grade shape, valid audits, the same every time."""

from collections import Counter
from datetime import UTC, datetime

import pytest

from services.audit.domain import AuditForm, check_audit
from shared.events.vocabulary import AuditKind
from shared.organisation import DEMO_ORGANISATION_FILE, load_organisation
from tooling.demo import demo_audits

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def organisation():
    return load_organisation(DEMO_ORGANISATION_FILE)


@pytest.fixture(scope="module")
def audits(organisation):
    return demo_audits(organisation, NOW)


def test_four_months_up_to_now_of_a_modest_size(audits):
    months = Counter(audit.body["graded_at"][:7] for audit in audits)
    assert sorted(months) == ["2026-08", "2026-09", "2026-10", "2026-11"]
    assert all(42 <= months[m] <= 50 for m in ("2026-08", "2026-09", "2026-10"))
    assert 0 < months["2026-11"] <= 50
    assert len(audits) <= 200
    assert max(audit.body["graded_at"] for audit in audits) <= "2026-11-25T12:00:00Z"


def test_grades_have_the_report_shape_mostly_requires_improvement(audits):
    grades = Counter(audit.body["overall_grade"] for audit in audits)
    share = {grade: count / len(audits) for grade, count in grades.items()}
    assert 0.5 < share["requires_improvement"] < 0.7
    assert 0.2 < share["good"] < 0.32
    assert 0.05 < share["inadequate"] < 0.15
    assert 0.02 < share["outstanding"] < 0.08
    assert share["inadequate"] > share["outstanding"]


def test_every_demo_audit_meets_the_audit_services_rules(audits, organisation):
    for audit in audits:
        form = AuditForm.model_validate(audit.body)
        checked = check_audit(form, organisation, allocation=None, earlier=None, now=NOW)
        assert checked.team.id == audit.body["team_id"]
        assert audit.auditor_id == form.auditor_id
        assert form.auditor_id != checked.team_manager_id, "nobody audits their own team"
        assert form.audit_kind is not AuditKind.REAUDIT


def test_the_same_months_come_out_the_same_and_keys_and_cases_are_unique(audits, organisation):
    again = demo_audits(organisation, NOW)
    assert again == audits
    assert len({audit.key for audit in audits}) == len(audits)
    assert len({audit.body["case_id"] for audit in audits}) == len(audits)


def test_a_later_run_keeps_earlier_audits_and_adds_only_newly_past_ones(audits, organisation):
    later = demo_audits(organisation, datetime(2026, 11, 30, 18, 0, tzinfo=UTC))
    by_key = {audit.key: audit for audit in later}
    assert all(by_key[audit.key] == audit for audit in audits)
    assert len(later) > len(audits)


def test_no_names_only_references_in_what_is_posted(audits, organisation):
    names = {part for member in organisation.staff for part in member.name.split()}
    for audit in audits:
        text = str(audit.body)
        assert not any(name in text for name in names), audit.key


def test_no_demo_is_a_flag_of_qa_run_and_the_demo_is_on_by_default():
    from tooling.cli import build_parser

    assert build_parser().parse_args(["run"]).demo is True
    assert build_parser().parse_args(["run", "--no-demo"]).demo is False
