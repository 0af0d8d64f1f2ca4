"""Moderation rules: which audits are moderated and by whom, and what a moderated grade
publishes. How sample rates move is in `sampling.py`, how consistent grading is in
`consistency.py`.

Pure functions over plain values; the numbers are checked by hand in tests/unit/moderation.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.auth import Forbidden
from shared.confirmations import require_confirmed
from shared.errors import Conflict, FieldProblem, RuleBroken
from shared.events import (
    AuditGraded,
    EventData,
    InadequateFound,
    ModerationCompleted,
    ModerationDisagreed,
    ModerationRequested,
)
from shared.events.data import Identifier
from shared.events.vocabulary import (
    FoundBy,
    Grade,
    ModerationReason,
    ServiceArea,
    grade_difference,
)
from shared.organisation import StaffMember
from shared.personal_data import personal_data_cautions
from shared.visibility import AuditPeople

# --- which audits are moderated, and by whom ----------------------------------------------


def sample_point(audit_id: str) -> float:
    """A number in [0, 1) fixed by the audit id, so a redelivered event is sampled alike."""
    digest = hashlib.sha256(audit_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def moderation_reason(audit_id: str, overall_grade: Grade, rate: float) -> ModerationReason | None:
    """Every Inadequate audit is moderated; others when their sample point falls under the rate."""
    if overall_grade is Grade.INADEQUATE:
        return ModerationReason.INADEQUATE
    return ModerationReason.SAMPLED if sample_point(audit_id) < rate else None


def choose_moderator(
    pool: Sequence[StaffMember], open_items: Mapping[str, int], excluded: Iterable[str]
) -> StaffMember | None:
    """The least loaded moderator who is neither the auditor nor the case's team manager."""
    barred = set(excluded)
    eligible = [member for member in pool if member.id not in barred]
    return min(eligible, key=lambda m: (open_items.get(m.id, 0), m.id), default=None)


class NoModeratorAvailable(Exception):
    """Everyone in the pool is the auditor or the case's team manager."""


class ModerationStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"


@dataclass(frozen=True)
class Outcome:
    """What the moderator recorded; `request_id` names the submission that recorded it."""

    moderated_grade: Grade
    grade_difference: int
    rationale: str | None
    moderated_at: datetime
    request_id: str | None
    outstanding_practice: bool = False
    """The moderator found the audited practice outstanding: an example for the board."""


@dataclass(frozen=True)
class Moderation:
    """One audit sent for moderation; completed once it has an outcome."""

    id: str
    audit_id: str
    case_id: str
    service_area: ServiceArea
    team_id: str
    auditor_id: str
    team_manager_id: str
    moderator_id: str
    reason: ModerationReason
    auditor_grade: Grade
    audit_graded_at: datetime
    requested_at: datetime
    practitioner_id: str | None = None
    """Unknown (None) for moderations requested before it was kept."""
    outcome: Outcome | None = None

    @property
    def status(self) -> ModerationStatus:
        return ModerationStatus.OPEN if self.outcome is None else ModerationStatus.COMPLETED

    @property
    def people(self) -> AuditPeople:
        """Who may see it: the people of its audit (shared.visibility), its moderator among them."""
        return AuditPeople(
            self.service_area,
            self.auditor_id,
            self.practitioner_id,
            self.team_manager_id,
            frozenset({self.moderator_id}),
        )


@dataclass(frozen=True)
class Requested:
    moderation: Moderation
    event: ModerationRequested


def assign(
    audit: AuditGraded,
    rate: float,
    pool: Sequence[StaffMember],
    open_items: Mapping[str, int],
    moderation_id: str,
    now: datetime,
) -> Requested | None:
    """The moderation of a graded audit and its ModerationRequested; None when not moderated."""
    reason = moderation_reason(audit.audit_id, audit.overall_grade, rate)
    if reason is None:
        return None
    moderator = choose_moderator(pool, open_items, {audit.auditor_id, audit.team_manager_id})
    if moderator is None:
        raise NoModeratorAvailable(audit.audit_id)
    moderation = Moderation(
        id=moderation_id,
        audit_id=audit.audit_id,
        case_id=audit.case_id,
        service_area=audit.service_area,
        team_id=audit.team_id,
        auditor_id=audit.auditor_id,
        team_manager_id=audit.team_manager_id,
        practitioner_id=audit.practitioner_id,
        moderator_id=moderator.id,
        reason=reason,
        auditor_grade=audit.overall_grade,
        audit_graded_at=audit.graded_at,
        requested_at=now,
    )
    return Requested(moderation, requested_event(moderation))


def requested_event(m: Moderation) -> ModerationRequested:
    return ModerationRequested(
        case_id=m.case_id,
        moderation_id=m.id,
        audit_id=m.audit_id,
        moderator_id=m.moderator_id,
        auditor_id=m.auditor_id,
        service_area=m.service_area,
        auditor_grade=m.auditor_grade,
        reason=m.reason,
        requested_at=m.requested_at,
    )


# --- recording the moderated grade --------------------------------------------------------

RATIONALE_MAX_CHARS = 4000
Rationale = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=RATIONALE_MAX_CHARS)
]
ConfirmedCode = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MAX_CONFIRMED = 10
REQUEST_ID_TEXT = (
    "Your own id for this submission, 8 to 128 characters (a UUID will do), made once per "
    "form. Sending the moderation again with the same id, once it is recorded, answers it as "
    "recorded (200) instead of recording twice; any other id then is refused (409). The id is "
    "kept with the moderation for as long as the moderation is (the case-record retention, six "
    "years by default)."
)


class ModerationForm(BaseModel):
    """What a moderator records; `request_id` makes a retried submission harmless.

    `confirmed` names the cautions (shared.confirmations) the moderator has looked at and keeps.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    moderator_id: Identifier
    moderated_grade: Grade
    rationale: Rationale | None = Field(
        default=None,
        description=f"Why the grade differs from the auditor's: required when it does, 1 to "
        f"{RATIONALE_MAX_CHARS} characters once spaces at either end are trimmed.",
    )
    request_id: str = Field(
        min_length=8,
        max_length=128,
        description=REQUEST_ID_TEXT,
        examples=["3f0c2a9e6b1d4f5e9a471c2d3e4f5a6b"],
    )
    confirmed: list[ConfirmedCode] = Field(
        default_factory=list,
        max_length=MAX_CONFIRMED,
        description=f"The caution codes you have looked at and keep, at most {MAX_CONFIRMED} "
        "of 1 to 64 characters: send back the codes a 422 `needs_confirmation` answer gave.",
    )
    outstanding_practice: bool = False
    """The moderator flags the practice as outstanding, for the monthly board pack (kept in
    this service: not on any event)."""


@dataclass(frozen=True)
class Recorded:
    """The moderation as it now stands and the events to publish; a replay publishes none."""

    moderation: Moderation
    events: list[EventData]
    replayed: bool = False


def record(moderation: Moderation, form: ModerationForm, now: datetime) -> Recorded:
    """Record the moderated grade: by the assigned moderator only, with a rationale if it differs.

    A completed moderation is replayed to the request that completed it (a retried click) and
    refused to any other.
    """
    if moderation.outcome is not None:
        if moderation.outcome.request_id == form.request_id:
            return Recorded(moderation, [], replayed=True)
        raise Conflict("already moderated by another request")
    if form.moderator_id != moderation.moderator_id:
        raise Forbidden("only the moderator it is assigned to can record this moderation")
    difference = grade_difference(moderation.auditor_grade, form.moderated_grade)
    if difference != 0 and not form.rationale:
        problem = FieldProblem("rationale", "required when the grade differs from the auditor's")
        raise RuleBroken("moderation_rule", [problem])
    require_confirmed(personal_data_cautions("rationale", form.rationale), form.confirmed)
    outcome = Outcome(
        form.moderated_grade,
        difference,
        form.rationale,
        now,
        form.request_id,
        form.outstanding_practice,
    )
    completed = replace(moderation, outcome=outcome)
    return Recorded(completed, outcome_events(completed))


def outcome_events(moderation: Moderation) -> list[EventData]:
    """Completed always; Disagreed when the grades differ; InadequateFound when made Inadequate.

    The rationale stays in this service: no consumer needs it, and it is free text.
    """
    outcome = moderation.outcome
    if outcome is None:
        raise ValueError(f"moderation {moderation.id} has no outcome yet")
    fields = {
        "case_id": moderation.case_id,
        "moderation_id": moderation.id,
        "audit_id": moderation.audit_id,
        "moderator_id": moderation.moderator_id,
        "auditor_grade": moderation.auditor_grade,
        "moderated_grade": outcome.moderated_grade,
        "grade_difference": outcome.grade_difference,
        "moderated_at": outcome.moderated_at,
    }
    events: list[EventData] = [ModerationCompleted.model_validate(fields)]
    if outcome.grade_difference:
        events.append(ModerationDisagreed.model_validate(fields))
    if (
        outcome.moderated_grade is Grade.INADEQUATE
        and moderation.auditor_grade is not Grade.INADEQUATE
    ):
        events.append(
            InadequateFound(
                case_id=moderation.case_id,
                audit_id=moderation.audit_id,
                service_area=moderation.service_area,
                team_id=moderation.team_id,
                graded_at=outcome.moderated_at,
                found_by=FoundBy.MODERATION,
            )
        )
    return events
