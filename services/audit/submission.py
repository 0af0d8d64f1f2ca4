"""What an accepted audit becomes and publishes, and when a submission key may be replayed.

Pure: the handler hands in the checked audit and the new id, and saves what comes back.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.audit.domain import AUDIT_RULE, AuditForm, CheckedAudit
from shared.errors import FieldProblem, RuleBroken
from shared.events import AuditGraded, EventData, InadequateFound
from shared.events.vocabulary import AuditDomain, AuditKind, FoundBy, Grade, ServiceArea


@dataclass(frozen=True)
class GradedAudit:
    """An audit as recorded: the checked form with its team, area and people resolved."""

    id: str
    case_id: str
    audit_kind: AuditKind
    reaudit_of: str | None
    service_area: ServiceArea
    team_id: str
    area: str
    practitioner_id: str
    team_manager_id: str
    auditor_id: str
    overall_grade: Grade
    domain_grades: Mapping[AuditDomain, Grade]
    voice_of_child_evidenced: bool
    voice_of_child_note: str | None
    could_be_better_if: tuple[str, ...]
    themes: tuple[str, ...]
    graded_at: datetime


def graded(checked: CheckedAudit, audit_id: str) -> GradedAudit:
    """The audit `checked` records, under `audit_id`."""
    form, team = checked.form, checked.team
    return GradedAudit(
        id=audit_id,
        case_id=form.case_id,
        audit_kind=form.audit_kind,
        reaudit_of=form.reaudit_of,
        service_area=team.service_area,
        team_id=team.id,
        area=team.area,
        practitioner_id=checked.practitioner_id,
        team_manager_id=checked.team_manager_id,
        auditor_id=form.auditor_id,
        overall_grade=form.overall_grade,
        domain_grades=dict(form.domain_grades),
        voice_of_child_evidenced=form.voice_of_child.evidenced,
        voice_of_child_note=form.voice_of_child.note,
        could_be_better_if=tuple(form.could_be_better_if),
        themes=tuple(form.themes),
        graded_at=form.graded_at,
    )


def audit_events(audit: GradedAudit) -> list[EventData]:
    """AuditGraded for every audit, and InadequateFound when the overall grade is inadequate."""
    events: list[EventData] = [
        AuditGraded(
            case_id=audit.case_id,
            audit_id=audit.id,
            audit_kind=audit.audit_kind,
            reaudit_of=audit.reaudit_of,
            service_area=audit.service_area,
            team_id=audit.team_id,
            area=audit.area,
            practitioner_id=audit.practitioner_id,
            team_manager_id=audit.team_manager_id,
            auditor_id=audit.auditor_id,
            overall_grade=audit.overall_grade,
            domain_grades=dict(audit.domain_grades),
            voice_of_child_evidenced=audit.voice_of_child_evidenced,
            could_be_better_if=audit.could_be_better_if,
            themes=audit.themes,
            graded_at=audit.graded_at,
        )
    ]
    if audit.overall_grade is Grade.INADEQUATE:
        events.append(
            InadequateFound(
                case_id=audit.case_id,
                audit_id=audit.id,
                service_area=audit.service_area,
                team_id=audit.team_id,
                graded_at=audit.graded_at,
                found_by=FoundBy.AUDITOR,
            )
        )
    return events


class IdempotencyKeyReused(RuleBroken):
    """The key was first used for a different audit; replaying it would hide a real change."""

    def __init__(self) -> None:
        super().__init__(
            AUDIT_RULE,
            [
                FieldProblem(
                    "Idempotency-Key", "already used for a different audit submission", "header"
                )
            ],
        )


def fingerprint(form: AuditForm) -> str:
    """What a submission key remembers of the form it was first used for."""
    return hashlib.sha256(form.model_dump_json().encode()).hexdigest()


def check_replay(form: AuditForm, first_fingerprint: str) -> None:
    """A key already used may be sent again only with the same form, which then replays."""
    if fingerprint(form) != first_fingerprint:
        raise IdempotencyKeyReused
