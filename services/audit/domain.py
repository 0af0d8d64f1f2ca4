"""The audit form and the rules a submitted audit must meet. Pure: no I/O, no clock of its own.

What an accepted audit becomes and publishes is in `submission.py`; who holds a case, in
`register.py`.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.errors import FieldProblem, RuleBroken
from shared.events.data import Identifier, UtcDatetime
from shared.events.vocabulary import AuditDomain, AuditKind, Grade
from shared.organisation import Organisation, Team

LearningPoint = Annotated[str, Field(min_length=1, max_length=1000)]
ThemeTag = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class VoiceOfChild(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    evidenced: bool
    note: str | None = Field(default=None, max_length=2000)


class AuditForm(BaseModel):
    """What an auditor submits. Team fields may be left out when the case register knows them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: Identifier
    audit_kind: AuditKind = AuditKind.LEARNING
    reaudit_of: Identifier | None = None
    team_id: Identifier | None = None
    practitioner_id: Identifier | None = None
    team_manager_id: Identifier | None = None
    auditor_id: Identifier
    domain_grades: dict[AuditDomain, Grade]
    overall_grade: Grade
    voice_of_child: VoiceOfChild
    could_be_better_if: list[LearningPoint] = Field(default_factory=list, max_length=20)
    themes: list[ThemeTag] = Field(default_factory=list, max_length=20)
    graded_at: UtcDatetime

    @model_validator(mode="after")
    def _every_domain_graded(self) -> Self:
        missing = [domain.value for domain in AuditDomain if domain not in self.domain_grades]
        if missing:
            raise ValueError(f"domain_grades: missing grades for {', '.join(missing)}")
        return self


AUDIT_RULE = "audit_rule"
"""The error `type` clients see for every broken audit rule."""


class AuditRejected(RuleBroken):
    """The form is well-formed but breaks the rules; each problem names its field."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(AUDIT_RULE, problems)


@dataclass(frozen=True)
class CaseAllocation:
    """What the case register knows of a case."""

    case_id: str
    team_id: str
    practitioner_id: str
    team_manager_id: str
    open: bool


@dataclass(frozen=True)
class EarlierAudit:
    audit_id: str
    case_id: str


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
    """Apply every rule at once, so the auditor sees all problems in one answer."""
    problems: list[FieldProblem] = []
    if form.graded_at > now:
        problems.append(FieldProblem("graded_at", "must not be in the future"))
    problems += _auditor_problems(form, organisation)
    problems += _reaudit_problems(form, earlier)
    team, team_problems = _resolve_team(form, organisation, allocation)
    problems += team_problems
    practitioner = form.practitioner_id or (allocation.practitioner_id if allocation else None)
    manager = form.team_manager_id or (allocation.team_manager_id if allocation else None)
    if team is not None and manager is None:
        manager = team.team_manager
    for field, person in (("practitioner_id", practitioner), ("team_manager_id", manager)):
        if person is None and field == "team_manager_id" and team_problems:
            continue  # it would come from the team, already reported
        if person is None:
            problems.append(
                FieldProblem(field, "required: the case register does not know this case")
            )
        elif person not in organisation.staff_by_id:
            problems.append(FieldProblem(field, f"unknown staff member {person!r}"))
    if problems or team is None or practitioner is None or manager is None:
        raise AuditRejected(problems)
    return CheckedAudit(form, team, practitioner, manager)


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
