"""Who is told about what. Pure: an event and what is known of its audit in, recipients out.

Action notifications ask someone to do something and go out at once; information ones follow
each person's preference (at once, or in the daily digest).
"""

from dataclasses import dataclass
from enum import StrEnum

from shared.events import (
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
from shared.organisation import Organisation


class Kind(StrEnum):
    ACTION = "action"
    INFORMATION = "information"


@dataclass(frozen=True)
class AuditPeople:
    """The people of an audit, learnt from AuditGraded."""

    audit_id: str
    service_area: str
    team_id: str
    practitioner_id: str
    team_manager_id: str
    auditor_id: str


@dataclass(frozen=True)
class Recipient:
    staff_id: str
    kind: Kind


ROUTED = (
    FollowUpScheduled,
    InadequateFound,
    ReminderDue,
    FollowUpOverdue,
    ModerationRequested,
    ModerationDisagreed,
    FollowUpCompleted,
    FollowUpCancelled,
)
NEEDS_AUDIT_PEOPLE = (InadequateFound, ModerationDisagreed, FollowUpCompleted, FollowUpCancelled)


def recipients(data: EventData, people: AuditPeople | None, org: Organisation) -> list[Recipient]:
    """Everyone to tell, each once; `people` is required for the events in NEEDS_AUDIT_PEOPLE."""
    found: list[Recipient] = []
    match data:
        case FollowUpScheduled() | ReminderDue():
            found = [Recipient(data.owner_id, Kind.ACTION)]
        case FollowUpOverdue():
            found = [
                Recipient(data.escalated_to_id, Kind.ACTION),
                Recipient(data.owner_id, Kind.ACTION),
            ]
        case ModerationRequested():
            found = [Recipient(data.moderator_id, Kind.ACTION)]
        case InadequateFound() if people:
            found = [
                Recipient(people.team_manager_id, Kind.INFORMATION),
                Recipient(people.practitioner_id, Kind.INFORMATION),
            ]
        case ModerationDisagreed() if people:
            found = [
                Recipient(people.auditor_id, Kind.INFORMATION),
                Recipient(people.team_manager_id, Kind.INFORMATION),
            ]
        case FollowUpCompleted() | FollowUpCancelled() if people:
            head = org.leads_of(people.service_area).head_of_service
            found = [
                Recipient(head, Kind.INFORMATION),
                Recipient(people.team_manager_id, Kind.INFORMATION),
            ]
            if isinstance(data, FollowUpCompleted) and data.escalated_to_id:
                found.append(Recipient(data.escalated_to_id, Kind.ACTION))
        case _ if isinstance(data, NEEDS_AUDIT_PEOPLE):
            raise LookupError("the audit's people are not known yet")
        case _:
            raise TypeError(f"no routing for {type(data).__name__}")
    unique: dict[str, Recipient] = {}
    for recipient in found:  # one person in two roles is told once, as the more urgent kind
        if recipient.staff_id not in unique or recipient.kind is Kind.ACTION:
            unique[recipient.staff_id] = recipient
    return list(unique.values())
