"""What a notification about an agreed action says: the case reference, what happened to the
action, its due date and a link to its page. Never what the action says: that is free text,
which the events do not carry and the action's page shows to those who may see it."""

from services.notifications.routing import AboutAnAction
from services.notifications.wording import Message, long_date
from shared.events import (
    ActionAgreed,
    ActionCompleted,
    ActionOverdue,
    ActionReminderDue,
    ActionUpdated,
)
from shared.events.vocabulary import ActionChange, ActionOrigin

AGREED_AT = {ActionOrigin.FOLLOWUP: "the reflective conversation"}
# (subject, headline, line) of each change an ActionUpdated reports; {case} and {due} filled in.
UPDATE_WORDS = {
    ActionChange.OWNER: (
        "[Action] Action for case {case} is now yours, due {due}",
        "An action for case {case} has been passed to you.",
        "It is due by {due}.",
    ),
    ActionChange.DUE_DATE: (
        "[Action] Action for case {case} now due {due}",
        "The due date of an action for case {case} has changed.",
        "It is now due by {due}.",
    ),
    ActionChange.EVIDENCE: (
        "[For information] Evidence added to an action for case {case}",
        "Evidence was added to an action for case {case}.",
        "The action's page shows it.",
    ),
    ActionChange.VERIFIED: (
        "[For information] Re-audit verified the action for case {case}",
        "The re-audit of case {case} found that the action made a difference.",
        "The action is closed as verified.",
    ),
    ActionChange.NOT_ACHIEVED: (
        "[For information] Re-audit found the action for case {case} not achieved",
        "The re-audit of case {case} found that the action did not make the difference intended.",
        "The action's page links to the re-audit.",
    ),
    ActionChange.CANCELLED: (
        "[For information] Action for case {case} cancelled",
        "An action for case {case} was cancelled.",
        "The action's page says why.",
    ),
    ActionChange.REOPENED: (
        "[For information] Action for case {case} reopened",
        "An action for case {case} is open again.",
        "It is due by {due}.",
    ),
}


def compose_action(data: AboutAnAction) -> Message:
    """The words for an event about an agreed action; the link is to the action's page."""
    case, due, link = data.case_id, long_date(data.due_on), f"/actions/{data.action_id}"
    match data:
        case ActionAgreed():
            subject = f"[Action] Action for case {case} due {due}"
            headline = f"An action agreed at {AGREED_AT[data.origin]} for case {case} is yours."
            lines = [f"It is due by {due}.", "The action's page says what is to be done."]
        case ActionReminderDue():
            when = "today" if data.reminder == "due_today" else f"on {due}"
            subject = f"[Reminder] Action for case {case} due {when}"
            headline = f"Reminder: an action for case {case} is due {when}."
            lines = ["Please mark it done on the action's page, with a note of what was done."]
        case ActionOverdue():
            days = f"{data.working_days_overdue} working day" + (
                "s" if data.working_days_overdue != 1 else ""
            )
            subject = f"[Overdue] Action for case {case} is {days} late"
            headline = f"An action for case {case} was due on {due} and is not done."
            lines = ["This has been escalated. Please make sure it is done."]
        case ActionCompleted():
            subject = f"[For information] Action for case {case} done"
            headline = f"An action for case {case} was marked done by its owner."
            lines = ["The re-audit will record whether it made a difference."]
        case ActionUpdated():
            words = UPDATE_WORDS[data.change]
            subject, headline, line = (part.format(case=case, due=due) for part in words)
            lines = [line]
    return Message(subject, headline, lines, link, "Open the action")
