"""Moderation rules: which audits are moderated and by whom, what a moderated grade publishes,
how sample rates move, and how consistent grading is.

Pure functions over plain values; the numbers are checked by hand in tests/unit/moderation.
"""

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.auth import Forbidden
from shared.errors import Conflict, FieldProblem, RuleBroken
from shared.events import (
    AuditGraded,
    EventData,
    InadequateFound,
    ModerationCompleted,
    ModerationDisagreed,
    ModerationRequested,
    SamplingRateChanged,
)
from shared.events.data import Identifier
from shared.events.vocabulary import (
    FoundBy,
    Grade,
    ModerationReason,
    SamplingChangeReason,
    ServiceArea,
    grade_difference,
    grade_index,
)
from shared.organisation import Role, StaffMember

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
    outcome: Outcome | None = None

    @property
    def status(self) -> ModerationStatus:
        return ModerationStatus.OPEN if self.outcome is None else ModerationStatus.COMPLETED


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

Rationale = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ModerationForm(BaseModel):
    """What a moderator records; `request_id` makes a retried submission harmless."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    moderator_id: Identifier
    moderated_grade: Grade
    rationale: Rationale | None = Field(default=None, max_length=4000)
    request_id: str = Field(min_length=8, max_length=128)


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
    outcome = Outcome(form.moderated_grade, difference, form.rationale, now, form.request_id)
    completed = replace(moderation, outcome=outcome)
    return Recorded(completed, outcome_events(completed))


def outcome_events(moderation: Moderation) -> list[EventData]:
    """Completed always; Disagreed when the grades differ; InadequateFound when made Inadequate."""
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
        "rationale": outcome.rationale,
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


# --- sample rates -------------------------------------------------------------------------


@dataclass(frozen=True)
class SamplingPolicy:
    default_rate: float
    window: int
    threshold: float
    raised_rate: float

    def rate_of(self, stored: "StoredRate | None") -> float:
        """An area's rate: as last set, else the default."""
        return self.default_rate if stored is None else stored.rate


@dataclass(frozen=True)
class StoredRate:
    """An area's rate as somebody (or adaptive moderation) last set it."""

    rate: float
    reason: SamplingChangeReason
    changed_at: datetime


def disagreement_rate(recent_differences: Sequence[int]) -> float:
    return sum(d != 0 for d in recent_differences) / len(recent_differences)


def adaptive_rate(
    recent_differences: Sequence[int],
    current_rate: float,
    *,
    window: int,
    threshold: float,
    raised_rate: float,
) -> float | None:
    """The raised rate when the last `window` moderations disagree more than `threshold`.

    None when nothing should change: too few moderations yet, disagreement within bounds, or
    the rate is already at least as high (a person may have set it higher).
    """
    if len(recent_differences) < window or current_rate >= raised_rate:
        return None
    return raised_rate if disagreement_rate(recent_differences[:window]) > threshold else None


def adapted_rate(
    area: ServiceArea,
    history: Sequence[tuple[datetime, int]],
    stored: StoredRate | None,
    policy: SamplingPolicy,
    now: datetime,
) -> SamplingRateChanged | None:
    """The adaptive raise of an area's rate, if its latest moderations call for one.

    `history` is (moderated_at, grade difference) of the area's latest moderations, newest
    first. A person's rate stands until a whole window of moderations after it disagrees: the
    disagreements they already weighed must not raise the rate straight back.
    """
    if stored is not None and stored.reason is SamplingChangeReason.MANUAL:
        history = [(at, d) for at, d in history if at > stored.changed_at]
    differences = [d for _, d in history[: policy.window]]
    current = policy.rate_of(stored)
    raised = adaptive_rate(
        differences,
        current,
        window=policy.window,
        threshold=policy.threshold,
        raised_rate=policy.raised_rate,
    )
    if raised is None:
        return None
    return SamplingRateChanged(
        service_area=area,
        previous_rate=current,
        new_rate=raised,
        reason=SamplingChangeReason.ADAPTIVE,
        changed_by=None,
        disagreement_rate=disagreement_rate(differences),
        changed_at=now,
    )


RATE_SETTERS = frozenset({Role.ASSISTANT_DIRECTOR, Role.ADMIN})


def may_change_rates(person: StaffMember | None) -> bool:
    """Only assistant directors and admins change sampling rates."""
    return person is not None and person.role in RATE_SETTERS


@dataclass(frozen=True)
class ManualRate:
    """A person's new rate for an area."""

    service_area: ServiceArea
    rate: float
    changed_by: str


def change_by_hand(
    change: ManualRate,
    person: StaffMember | None,
    stored: StoredRate | None,
    policy: SamplingPolicy,
    now: datetime,
) -> SamplingRateChanged:
    """A person's change of an area's rate, if they may make it (`person` is who they are)."""
    if not may_change_rates(person):
        raise Forbidden("only assistant directors and admins change sampling rates")
    return SamplingRateChanged(
        service_area=change.service_area,
        previous_rate=policy.rate_of(stored),
        new_rate=change.rate,
        reason=SamplingChangeReason.MANUAL,
        changed_by=change.changed_by,
        disagreement_rate=None,
        changed_at=now,
    )


# --- consistency of grading ---------------------------------------------------------------


@dataclass(frozen=True)
class Consistency:
    moderated: int
    agreement_rate: float
    mean_absolute_difference: float
    moderator_worse_share: float
    moderator_better_share: float
    weighted_kappa: float | None


def consistency(pairs: Sequence[tuple[Grade, Grade]]) -> Consistency:
    """Agreement between (auditor grade, moderated grade) pairs; kappa is quadratic-weighted."""
    if not pairs:
        return Consistency(0, 0.0, 0.0, 0.0, 0.0, None)
    differences = [grade_difference(auditor, moderated) for auditor, moderated in pairs]
    count = len(pairs)
    return Consistency(
        moderated=count,
        agreement_rate=round(sum(d == 0 for d in differences) / count, 4),
        mean_absolute_difference=round(sum(abs(d) for d in differences) / count, 4),
        moderator_worse_share=round(sum(d > 0 for d in differences) / count, 4),
        moderator_better_share=round(sum(d < 0 for d in differences) / count, 4),
        weighted_kappa=quadratic_weighted_kappa(pairs),
    )


def quadratic_weighted_kappa(pairs: Sequence[tuple[Grade, Grade]]) -> float | None:
    """Cohen's kappa with weights (i - j)^2 / (k - 1)^2; None when chance agreement is total."""
    return weighted_kappa(Counter(pairs))


def weighted_kappa(counts: Mapping[tuple[Grade, Grade], int]) -> float | None:
    """The same kappa from how often each (auditor grade, moderated grade) pair occurred."""
    total = sum(counts.values())
    if total == 0:
        return None
    k = len(Grade)
    observed = [[0.0] * k for _ in range(k)]
    for (auditor, moderated), count in counts.items():
        observed[grade_index(auditor)][grade_index(moderated)] += count / total
    rows = [sum(observed[i]) for i in range(k)]
    columns = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    weight = [[(i - j) ** 2 / (k - 1) ** 2 for j in range(k)] for i in range(k)]
    disagreement = sum(weight[i][j] * observed[i][j] for i in range(k) for j in range(k))
    by_chance = sum(weight[i][j] * rows[i] * columns[j] for i in range(k) for j in range(k))
    return None if by_chance == 0 else round(1 - disagreement / by_chance, 4)
