"""What a notification says: subject, a few plain sentences, and a link to the record.

Messages name the case reference and link to the record, never a child's name or details; the
greeting is generic so that not even the recipient's name is in the text. They are made from
ids, grades, dates and counts only, never from an event's free text (a rationale, a reason):
free text may hold what a child's record holds, and a message travels to mailboxes, webhooks
and inboxes beyond the record's own access rules. The linked page shows the rest.
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notifications.action_messages import compose_action
from services.notifications.programme_messages import compose_programme
from services.notifications.routing import ACTION_EVENTS, ALLOCATION_EVENTS, Kind
from services.notifications.wording import Message, grade_words, long_date
from shared.events import (
    AuditGraded,
    EventData,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpOverdue,
    FollowUpScheduled,
    InadequateFound,
    ModerationDisagreed,
    ModerationRequested,
    ReminderDue,
)
from shared.events.vocabulary import FollowUpAction

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html.j2"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
STEP = {
    FollowUpAction.REFLECTIVE_CONVERSATION: "Reflective conversation",
    FollowUpAction.REAUDIT: "Re-audit",
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def compose(data: EventData, kind: Kind) -> Message:
    """The words for one event to a recipient told of it as `kind`: the same for every
    recipient of that kind (only a programme audit's words differ by kind)."""
    if isinstance(data, ACTION_EVENTS):
        return compose_action(data)
    if isinstance(data, (*ALLOCATION_EVENTS, AuditGraded)):
        return compose_programme(data, kind)
    return _compose_audit_step(data)


def _compose_audit_step(data: EventData) -> Message:
    """An audit's, its moderation's or its follow-up's step."""
    match data:
        case FollowUpScheduled():
            return Message(
                f"[Action] {STEP[data.action]} due {long_date(data.due_on)} - case {data.case_id}",
                f"A {STEP[data.action].lower()} is needed for case {data.case_id}.",
                [
                    f"It is due by {long_date(data.due_on)}.",
                    "It follows an audit graded Inadequate."
                    if data.action is FollowUpAction.REFLECTIVE_CONVERSATION
                    else "It is six weeks after the reflective conversation.",
                ],
                f"/followups/{data.followup_id}",
            )
        case ReminderDue():
            when = "today" if data.reminder == "due_today" else f"on {long_date(data.due_on)}"
            return Message(
                f"[Reminder] {STEP[data.action]} due {when} - case {data.case_id}",
                f"Reminder: the {STEP[data.action].lower()} for case {data.case_id} is due {when}.",
                ["Please record it once it has taken place."],
                f"/followups/{data.followup_id}",
            )
        case FollowUpOverdue():
            days = data.working_days_overdue
            return Message(
                f"[Overdue] {STEP[data.action]} for case {data.case_id} is {days} working "
                f"day{'s' if days != 1 else ''} late",
                f"The {STEP[data.action].lower()} for case {data.case_id} was due on "
                f"{long_date(data.due_on)} and has not been recorded.",
                ["This has been escalated. Please make sure it takes place."],
                f"/followups/{data.followup_id}",
            )
        case ModerationRequested():
            return Message(
                f"[Action] Please moderate audit {data.audit_id} - case {data.case_id}",
                f"Audit {data.audit_id} of case {data.case_id} needs moderating.",
                [f"The auditor graded it {grade_words(data.auditor_grade)}."],
                f"/moderations/{data.moderation_id}",
            )
        case InadequateFound():
            return Message(
                f"[For information] Audit of case {data.case_id} graded Inadequate",
                f"An audit of case {data.case_id} was graded Inadequate.",
                [
                    "The Head of Service will hold a reflective conversation within 5 working "
                    "days.",
                    # the practitioner's only message of the audit: its learning is on the page
                    "The audit's page shows what could be better.",
                ],
                f"/audits/{data.audit_id}",
            )
        case ModerationDisagreed():
            return Message(
                f"[For information] Moderation regraded case {data.case_id}: "
                f"{grade_words(data.auditor_grade)} to {grade_words(data.moderated_grade)}",
                f"Moderation of audit {data.audit_id} (case {data.case_id}) reached a different "
                "grade.",
                [
                    f"Auditor's grade: {grade_words(data.auditor_grade)}.",
                    f"Moderated grade: {grade_words(data.moderated_grade)}.",
                    "The moderator's rationale is on the moderation's page.",
                ],
                f"/moderations/{data.moderation_id}",
            )
        case FollowUpCompleted():
            improved = data.outcome == "improved"
            lines = [
                f"The re-audit ({data.reaudit_id}) found practice "
                f"{'improved' if improved else 'still Inadequate'}."
            ]
            if not improved:
                lines.append(
                    "This has been escalated to the Assistant Director, and a new follow-up starts."
                )
            return Message(
                f"[For information] Follow-up for case {data.case_id} completed: "
                f"{'improved' if improved else 'still Inadequate'}",
                f"The follow-up of case {data.case_id} is complete.",
                lines,
                f"/followups/{data.followup_id}",
            )
        case FollowUpCancelled():
            return Message(
                f"[For information] Follow-up for case {data.case_id} cancelled",
                f"The follow-up of case {data.case_id} was cancelled.",
                ["The follow-up's page says why."],
                f"/followups/{data.followup_id}",
            )
    raise TypeError(f"no message for {type(data).__name__}")


def render(message: Message, base_url: str) -> Rendered:
    context = {"message": message, "link": f"{base_url.rstrip('/')}{message.link_path}"}
    return Rendered(
        message.subject,
        TEMPLATES.get_template("message.txt.j2").render(context),
        TEMPLATES.get_template("message.html.j2").render(context),
    )


def render_digest(day: date, items: list[tuple[str, str]], base_url: str) -> Rendered:
    """One email for a day's information notifications: (subject, link path) each."""
    subject = f"[Digest] {len(items)} update{'s' if len(items) != 1 else ''} for {long_date(day)}"
    context = {
        "subject": subject,
        "base": base_url.rstrip("/"),
        "items": [{"subject": s, "path": p} for s, p in items],
    }
    return Rendered(
        subject,
        TEMPLATES.get_template("digest.txt.j2").render(context),
        TEMPLATES.get_template("digest.html.j2").render(context),
    )
