"""No personal data in logs: every service's log from the whole e2e run, scanned for people.

This module runs after every other end-to-end test (see `pytest_collection_modifyitems` in
this folder's conftest), so the logs hold the full flow: audits, moderation, follow-ups,
emails, crashes and restarts, poison messages, refusals.
"""

import re

from shared.organisation import load_organisation
from tests.conftest import USED
from tests.e2e.conftest import System

ORG = load_organisation()


def personal_data() -> dict[str, str]:
    """Every name and email address in the organisation file -> whose it is (by staff id)."""
    found = {}
    for member in ORG.staff:
        found[member.email.lower()] = member.id
        found[member.name.lower()] = member.id
        for part in member.name.split():
            if len(part) > 3:  # whole-word surnames and forenames; skip "Ben" vs "Bench"
                found[part.lower()] = member.id
    return found


def test_service_logs_hold_no_name_or_email_address_from_the_organisation_file(system: System):
    logs = sorted(system.logs.rglob("*.log"))  # replicas log in folders of their own
    assert {log.stem for log in logs} >= {"audit", "moderation", "scheduler", "notifications"}
    needles = personal_data()
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, needles)) + r")\b", re.IGNORECASE)
    leaks = []
    lines = 0
    for log in logs:
        for number, line in enumerate(log.read_text(errors="replace").splitlines(), start=1):
            lines += 1
            leaks += [(log.name, number, needles[m.lower()]) for m in pattern.findall(line)]
    USED["log scan"] = (
        f"log scan: {lines} log lines from {len(logs)} service logs, "
        f"{len(needles)} names, name parts and emails looked for, {len(leaks)} found"
    )
    assert lines > 100  # the scan read a real run's logs, not empty files
    assert leaks == [], f"personal data in logs (file, line, whose): {leaks[:20]}"
