"""Follow-up steps as the audit service keeps them, for the re-audit rules' tests."""

from datetime import UTC, datetime

from services.audit.reaudit import ReauditAssignment
from shared.events.vocabulary import FollowUpAction

ANNOUNCED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def reaudit_step(
    owner_id: str,
    step: FollowUpAction = FollowUpAction.REAUDIT,
    open: bool = True,
    audit_id: str = "AUD-1",
) -> ReauditAssignment:
    return ReauditAssignment(audit_id, "FU-1", step, owner_id, open, ANNOUNCED)
