"""What callers send to the programme's routes: a draw's parameters, a draft, a reflection, a
reason, and a programme audit's submission (the audit form and who took part)."""

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.audit.domain import (
    CONFIRMED_TEXT,
    GRADED_AT_TEXT,
    MAX_CONFIRMED,
    MAX_NOTE,
    MAX_POINTS,
    MAX_THEMES,
    NOTE_TEXT,
    POINTS_TEXT,
    THEMES_TEXT,
    AuditForm,
    ConfirmationCode,
    LearningPoint,
    ThemeTag,
)
from shared.events.data import Identifier, UtcDatetime
from shared.events.vocabulary import AuditDomain, AuditKind, Grade
from shared.http import MONTH_RULE

MONTH_PATTERN = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"
MAX_SEED = 2**63 - 1
MAX_REFLECTION = 2000
MAX_REASON = 500
MAX_TOOK_PART = 20
Confirmed = Annotated[
    list[ConfirmationCode],
    Field(default_factory=list, max_length=MAX_CONFIRMED, description=CONFIRMED_TEXT),
]


class _Form(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DrawRequest(_Form):
    """A month's draw; what is left out takes its default (size: the monthly target; seed: a
    random one, recorded; due_on: the month's last working day)."""

    month: Annotated[
        str, Field(pattern=MONTH_PATTERN, description=MONTH_RULE, examples=["2026-12"])
    ]
    size: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="How many cases to draw: 1 to 1000; the monthly target when left out.",
        examples=[40],
    )
    minimum_per_team: int = Field(
        default=1,
        ge=0,
        le=100,
        description="The fewest cases drawn from each team (never more than it has): 0 to 100, "
        "1 when left out.",
    )
    seed: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SEED,
        description=f"Makes the draw repeatable: 0 to {MAX_SEED}; a random one, recorded, when "
        "left out.",
    )
    due_on: date | None = Field(
        default=None,
        description="When the month's audits are due, an ISO 8601 date (2026-12-31); the "
        "month's last working day when left out.",
    )


class DraftVoiceOfChild(_Form):
    evidenced: bool | None = None
    note: str | None = Field(default=None, max_length=MAX_NOTE, description=NOTE_TEXT)


class AuditDraft(_Form):
    """The audit form half filled: every field of POST /audits, each optional. The rules and
    cautions are checked when the audit is submitted, not on each save."""

    case_id: Identifier | None = None
    audit_kind: AuditKind | None = None
    team_id: Identifier | None = None
    practitioner_id: Identifier | None = None
    team_manager_id: Identifier | None = None
    auditor_id: Identifier | None = None
    domain_grades: dict[AuditDomain, Grade] | None = None
    overall_grade: Grade | None = None
    voice_of_child: DraftVoiceOfChild | None = None
    could_be_better_if: list[LearningPoint] | None = Field(
        default=None, max_length=MAX_POINTS, description=POINTS_TEXT
    )
    themes: list[ThemeTag] | None = Field(
        default=None, max_length=MAX_THEMES, description=THEMES_TEXT
    )
    graded_at: UtcDatetime | None = Field(default=None, description=GRADED_AT_TEXT)
    confirmed: list[ConfirmationCode] | None = Field(
        default=None, max_length=MAX_CONFIRMED, description=CONFIRMED_TEXT
    )


class ReflectionForm(_Form):
    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REFLECTION)
    ] = Field(
        description=f"The reflection: 1 to {MAX_REFLECTION} characters once spaces at either "
        "end are trimmed."
    )
    confirmed: Confirmed


class ReasonForm(_Form):
    """Why an audit is declined or exempted: kept by the audit service, never on an event."""

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON)
    ] = Field(
        description=f"Why: 1 to {MAX_REASON} characters once spaces at either end are trimmed."
    )
    confirmed: Confirmed


class AllocatedAuditForm(AuditForm):
    """POST /audits' form, and who else took part in the audit besides those who reflected."""

    took_part: list[Identifier] = Field(
        default_factory=list,
        max_length=MAX_TOOK_PART,
        description=f"The staff ids of the others who took part, at most {MAX_TOOK_PART}.",
    )

    def audit_form(self) -> AuditForm:
        return AuditForm.model_validate(self.model_dump(exclude={"took_part"}))
