"""The audit form and the rules a submitted audit must meet. Pure: no I/O, no clock of its own.

What an accepted audit becomes and publishes is in `submission.py`; who holds a case, in
`register.py`; who the audit names, in `people.py`; who may re-audit, in `reaudit.py`; what
the auditor confirms, in `cautions.py`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from services.audit.cautions import free_text_cautions, grade_cautions
from services.audit.people import (
    CaseAllocation,
    NamedPeople,
    independence_problems,
    resolve_people,
)
from services.audit.reaudit import ReauditAssignment, reaudit_refusals
from shared.confirmations import require_confirmed
from shared.errors import FieldProblem, RuleBroken
from shared.events.data import Identifier, UtcDatetime
from shared.events.vocabulary import AuditDomain, AuditKind, Grade
from shared.organisation import Organisation, Team

LearningPoint = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
]
ThemeTag = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
ConfirmationCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
MAX_POINTS = MAX_THEMES = 20
MAX_NOTE = 2000
MAX_CONFIRMED = 10

# What callers read in the OpenAPI schema (and the README's "Limits callers meet"): built from
# the same constants the fields enforce, so the words follow a changed limit.
NOTE_TEXT = f"Free text, at most {MAX_NOTE} characters."
POINTS_TEXT = (
    f"At most {MAX_POINTS} points, each 1 to 1000 characters once spaces at either end are trimmed."
)
THEMES_TEXT = (
    f"At most {MAX_THEMES} theme tags, each once: 1 to 64 characters of lower-case letters, "
    "digits, '_' and '-', starting with a letter or digit."
)
CONFIRMED_TEXT = (
    f"The caution codes you have looked at and keep, at most {MAX_CONFIRMED}: send back the "
    "codes a 422 `needs_confirmation` answer gave (lower-case letters, digits and '_', at most "
    "64 characters)."
)
GRADED_AT_TEXT = (
    "When the audit was graded: an ISO 8601 date and time with its offset "
    "(2026-11-25T10:30:00Z or 2026-11-25T10:30:00+00:00); a time without one is refused. "
    "Not more than five minutes ahead, nor more than 366 days back."
)

FUTURE_TOLERANCE = timedelta(minutes=5)
"""A device's clock may run a little ahead of ours; further ahead is a mistake."""
OLDEST_GRADING = timedelta(days=366)
"""Audits are recorded as they are done (the monthly cycle, 12 months between audits of a
case), so a grading more than a year back is a mistyped year (1901, year 1), and its follow-up
would start hundreds of working days overdue."""


class VoiceOfChild(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    evidenced: bool
    note: str | None = Field(default=None, max_length=MAX_NOTE, description=NOTE_TEXT)


class AuditForm(BaseModel):
    """What an auditor submits. Team fields may be left out when the case register knows them.

    `confirmed` names the cautions (shared.confirmations) the auditor has looked at and keeps.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: Identifier = Field(examples=["CASE-000123"])
    audit_kind: AuditKind = AuditKind.LEARNING
    reaudit_of: Identifier | None = None
    team_id: Identifier | None = None
    practitioner_id: Identifier | None = None
    team_manager_id: Identifier | None = None
    auditor_id: Identifier
    domain_grades: dict[AuditDomain, Grade]
    overall_grade: Grade
    voice_of_child: VoiceOfChild
    could_be_better_if: list[LearningPoint] = Field(
        default_factory=list, max_length=MAX_POINTS, description=POINTS_TEXT
    )
    themes: list[ThemeTag] = Field(
        default_factory=list, max_length=MAX_THEMES, description=THEMES_TEXT
    )
    graded_at: UtcDatetime = Field(description=GRADED_AT_TEXT, examples=["2026-11-25T10:30:00Z"])
    confirmed: list[ConfirmationCode] = Field(
        default_factory=list, max_length=MAX_CONFIRMED, description=CONFIRMED_TEXT
    )

    @model_validator(mode="after")
    def _every_domain_graded(self) -> Self:
        missing = [domain.value for domain in AuditDomain if domain not in self.domain_grades]
        if missing:
            raise ValueError(f"domain_grades: missing grades for {', '.join(missing)}")
        if len(set(self.themes)) != len(self.themes):
            raise ValueError("themes: each theme once")
        return self


AUDIT_RULE = "audit_rule"
"""The error `type` clients see for every broken audit rule."""


class AuditRejected(RuleBroken):
    """The form is well-formed but breaks the rules; each problem names its field."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(AUDIT_RULE, problems)


@dataclass(frozen=True)
class EarlierAudit:
    """The audit a re-audit points at, and where its follow-up stands (None: none known)."""

    audit_id: str
    case_id: str
    followup: ReauditAssignment | None = None


@dataclass(frozen=True)
class CheckedAudit:
    """A form that passed every rule, with its team fields filled in."""

    form: AuditForm
    team: Team
    practitioner_id: str
    team_manager_id: str


def check_audit(
    form: AuditForm,
    organisation: Organisation,
    allocation: CaseAllocation | None,
    earlier: EarlierAudit | None,
    now: datetime,
) -> CheckedAudit:
    """Apply every rule at once, so the auditor sees all problems in one answer; then ask them
    to confirm what is allowed but looks wrong."""
    problems = _when_problems(form.graded_at, now)
    problems += _auditor_problems(form, organisation)
    link_problems = _reaudit_problems(form, earlier)
    team, team_problems = _resolve_team(form, organisation, allocation)
    named = NamedPeople(form.practitioner_id, form.team_manager_id)
    practitioner, manager, people_problems = resolve_people(named, organisation, allocation, team)
    problems += link_problems + team_problems + people_problems
    if team is None or practitioner is None or manager is None:
        raise AuditRejected(problems)
    reaudited = None if link_problems else earlier
    problems += _assignment_problems(form, organisation, manager, reaudited) or (
        independence_problems(form.auditor_id, organisation, team, manager)
    )
    if problems:
        raise AuditRejected(problems)
    require_confirmed(
        grade_cautions(form.overall_grade, list(form.domain_grades.values()))
        + free_text_cautions(form.could_be_better_if, form.voice_of_child.note),
        form.confirmed,
    )
    return CheckedAudit(form, team, practitioner, manager)


def _when_problems(graded_at: datetime, now: datetime) -> list[FieldProblem]:
    if graded_at > now + FUTURE_TOLERANCE:
        return [FieldProblem("graded_at", "must not be in the future")]
    if graded_at < now - OLDEST_GRADING:
        return [
            FieldProblem(
                "graded_at",
                "must be within the last year: record an audit when it is done, and check the year",
            )
        ]
    return []


def _assignment_problems(
    form: AuditForm, organisation: Organisation, manager: str, earlier: EarlierAudit | None
) -> list[FieldProblem]:
    """A re-audit is the assigned auditor's, at its step (services.audit.reaudit)."""
    auditor = organisation.staff_by_id.get(form.auditor_id)
    if earlier is None or form.reaudit_of is None or auditor is None or not auditor.can_audit:
        return []
    return reaudit_refusals(earlier.audit_id, auditor.id, manager, earlier.followup)


def _auditor_problems(form: AuditForm, organisation: Organisation) -> list[FieldProblem]:
    auditor = organisation.staff_by_id.get(form.auditor_id)
    if auditor is None:
        return [FieldProblem("auditor_id", f"unknown staff member {form.auditor_id!r}")]
    if not auditor.can_audit:
        return [
            FieldProblem(
                "auditor_id",
                f"{auditor.id} is not eligible to audit: auditors "
                "are team manager level or above and trained",
            )
        ]
    return []


def _reaudit_problems(form: AuditForm, earlier: EarlierAudit | None) -> list[FieldProblem]:
    if form.audit_kind is AuditKind.REAUDIT and form.reaudit_of is None:
        return [FieldProblem("reaudit_of", "required for a re-audit")]
    if form.reaudit_of is None:
        return []
    if form.audit_kind is not AuditKind.REAUDIT:
        return [FieldProblem("reaudit_of", "only a re-audit may point at an earlier audit")]
    if earlier is None:
        return [FieldProblem("reaudit_of", f"no audit {form.reaudit_of!r}")]
    if earlier.case_id != form.case_id:
        return [FieldProblem("reaudit_of", f"audit {earlier.audit_id} is for another case")]
    return []


def _resolve_team(
    form: AuditForm, organisation: Organisation, allocation: CaseAllocation | None
) -> tuple[Team | None, list[FieldProblem]]:
    team_id = form.team_id or (allocation.team_id if allocation else None)
    if team_id is None:
        return None, [
            FieldProblem("team_id", "required: the case register does not know this case")
        ]
    team = organisation.teams_by_id.get(team_id)
    if team is None:
        return None, [FieldProblem("team_id", f"unknown team {team_id!r}")]
    if allocation and allocation.open and form.team_id and form.team_id != allocation.team_id:
        return None, [
            FieldProblem(
                "team_id", f"case {form.case_id} is allocated to team {allocation.team_id}"
            )
        ]
    return team, []
