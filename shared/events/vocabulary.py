"""The words of the domain that events carry: grades, service areas, audit kinds, steps."""

from enum import StrEnum


class Grade(StrEnum):
    """Ofsted grades, best to worst; the order defines the grade index 0..3."""

    OUTSTANDING = "outstanding"
    GOOD = "good"
    REQUIRES_IMPROVEMENT = "requires_improvement"
    INADEQUATE = "inadequate"


def grade_index(grade: Grade) -> int:
    """0 for outstanding up to 3 for inadequate."""
    return list(Grade).index(grade)


def grade_difference(auditor: Grade, moderated: Grade) -> int:
    """index(moderated) - index(auditor): positive means the moderator judged the practice worse."""
    return grade_index(moderated) - grade_index(auditor)


class ServiceArea(StrEnum):
    EARLY_HELP = "early_help"
    ASSESSMENT_INTERVENTION = "assessment_intervention"
    FAMILY_SAFEGUARDING = "family_safeguarding"
    CHILDREN_WE_CARE_FOR = "children_we_care_for"
    CARE_LEAVERS = "care_leavers"


class AuditKind(StrEnum):
    LEARNING = "learning"
    THEMATIC = "thematic"
    DIP_SAMPLE = "dip_sample"
    REAUDIT = "reaudit"


class AuditDomain(StrEnum):
    ASSESSMENT = "assessment"
    PLANNING = "planning"
    VISITS = "visits"
    VOICE_OF_CHILD = "voice_of_child"
    MANAGEMENT_OVERSIGHT = "management_oversight"
    RECORDING = "recording"


class FoundBy(StrEnum):
    AUDITOR = "auditor"
    MODERATION = "moderation"


class ModerationReason(StrEnum):
    INADEQUATE = "inadequate"
    SAMPLED = "sampled"


class SamplingChangeReason(StrEnum):
    MANUAL = "manual"
    ADAPTIVE = "adaptive"


class FollowUpAction(StrEnum):
    REFLECTIVE_CONVERSATION = "reflective_conversation"
    REAUDIT = "reaudit"


class ReminderKind(StrEnum):
    TWO_WORKING_DAYS_BEFORE = "two_working_days_before"
    DUE_TODAY = "due_today"


class FollowUpOutcome(StrEnum):
    IMPROVED = "improved"
    STILL_INADEQUATE = "still_inadequate"


class ActionStatus(StrEnum):
    """An agreed action's life: open, then done by its owner, then verified or found not
    achieved by the re-audit; or cancelled, with a reason."""

    OPEN = "open"
    DONE = "done"
    VERIFIED = "verified"
    NOT_ACHIEVED = "not_achieved"
    CANCELLED = "cancelled"


class ActionOrigin(StrEnum):
    """What an action was agreed in: a reference, so that later origins (thematic audits,
    Back to the Floor, survey plans) need no new columns."""

    FOLLOWUP = "followup"


class ActionChange(StrEnum):
    """What an ActionUpdated says changed."""

    OWNER = "owner"
    DUE_DATE = "due_date"
    EVIDENCE = "evidence"
    VERIFIED = "verified"
    NOT_ACHIEVED = "not_achieved"
    CANCELLED = "cancelled"
    REOPENED = "reopened"


class PlanType(StrEnum):
    """What the case management system says the child's case is: the plan or legal footing a
    quality-assurance programme spreads its sample over (the Standard Safeguarding Dataset's
    CIN, CP, CLA and care leaver records, and early help episodes)."""

    EARLY_HELP = "early_help"
    CHILD_IN_NEED = "child_in_need"
    CHILD_PROTECTION = "child_protection"
    CHILD_WE_CARE_FOR = "child_we_care_for"
    CARE_LEAVER = "care_leaver"


class AllocationStatus(StrEnum):
    """A programme audit's life: allocated to an auditor, in progress once a draft is saved,
    submitted as an audit; or declined by the auditor (and reallocated) or exempted by a
    director, each with a reason."""

    ALLOCATED = "allocated"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    DECLINED = "declined"
    EXEMPTED = "exempted"


class NotificationChannel(StrEnum):
    EMAIL = "email"
    INBOX = "inbox"
    WEBHOOK = "webhook"
