"""Who is told about what, on which channels, and how each notification starts out.

Pure: an event, what is known of its audit and people's preferences in; recipients, channels
and starting statuses out. Action notifications ask someone to do something and go out at once;
information ones follow each person's preference (at once, or in the daily digest).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from shared.events import (
    ActionAgreed,
    ActionCompleted,
    ActionOverdue,
    ActionReminderDue,
    ActionUpdated,
    AuditAllocated,
    AuditExempted,
    AuditGraded,
    AuditOverdue,
    AuditReminderDue,
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
from shared.events.vocabulary import ActionChange, Grade, NotificationChannel
from shared.organisation import Organisation


class Kind(StrEnum):
    ACTION = "action"
    INFORMATION = "information"


class Status(StrEnum):
    """pending -> delivered | failed; held (waiting for the digest) -> digested."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    HELD = "held"
    DIGESTED = "digested"


class Information(StrEnum):
    """When a person wants information notifications by email."""

    IMMEDIATELY = "immediately"
    DAILY_DIGEST = "daily_digest"


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


@dataclass(frozen=True)
class Delivery:
    """One notification to make: to whom, of which kind, on which channel, in which status."""

    staff_id: str
    kind: Kind
    channel: NotificationChannel
    status: Status


ACTION_EVENTS = (ActionAgreed, ActionUpdated, ActionReminderDue, ActionOverdue, ActionCompleted)
AboutAnAction = ActionAgreed | ActionUpdated | ActionReminderDue | ActionOverdue | ActionCompleted
ALLOCATION_EVENTS = (AuditAllocated, AuditExempted, AuditReminderDue, AuditOverdue)
AboutAnAllocation = AuditAllocated | AuditExempted | AuditReminderDue | AuditOverdue
ROUTED = (
    *ACTION_EVENTS,
    *ALLOCATION_EVENTS,
    AuditGraded,
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
AboutAnAudit = InadequateFound | ModerationDisagreed | FollowUpCompleted | FollowUpCancelled


def recipients(data: EventData, people: AuditPeople | None, org: Organisation) -> list[Recipient]:
    """Everyone to tell, each once; `people` is required for the events in NEEDS_AUDIT_PEOPLE."""
    if isinstance(data, NEEDS_AUDIT_PEOPLE):
        if people is None:
            raise LookupError("the audit's people are not known yet")
        return _each_once(_told_of_audit(data, people, org))
    if isinstance(data, ACTION_EVENTS):
        return _each_once(_told_of_action(data, org))
    if isinstance(data, ALLOCATION_EVENTS):
        return _each_once(_told_of_allocation(data))
    if isinstance(data, AuditGraded):
        return _each_once(_told_of_grading(data))
    return _each_once(_told_directly(data))


def _told_directly(data: EventData) -> list[Recipient]:
    """The people an event names itself."""
    match data:
        case FollowUpScheduled() | ReminderDue():
            return [Recipient(data.owner_id, Kind.ACTION)]
        case FollowUpOverdue():
            return [
                Recipient(data.escalated_to_id, Kind.ACTION),
                Recipient(data.owner_id, Kind.ACTION),
            ]
        case ModerationRequested():
            return [Recipient(data.moderator_id, Kind.ACTION)]
        case _:
            raise TypeError(f"no routing for {type(data).__name__}")


def _told_of_audit(data: AboutAnAudit, people: AuditPeople, org: Organisation) -> list[Recipient]:
    """The people of the audit an event is about."""
    match data:
        case InadequateFound():
            return [
                Recipient(people.team_manager_id, Kind.INFORMATION),
                Recipient(people.practitioner_id, Kind.INFORMATION),
            ]
        case ModerationDisagreed():
            return [
                Recipient(people.auditor_id, Kind.INFORMATION),
                Recipient(people.team_manager_id, Kind.INFORMATION),
            ]
    found = [
        Recipient(org.leads_of(people.service_area).head_of_service, Kind.INFORMATION),
        Recipient(people.team_manager_id, Kind.INFORMATION),
    ]
    if isinstance(data, FollowUpCompleted) and data.escalated_to_id:
        found.append(Recipient(data.escalated_to_id, Kind.ACTION))
    return found


# Whom an update concerns is its owner (for a new owner: the new one), and only for these
# changes: a new owner or date is something to act on, the re-audit's verdict and a
# cancellation are news; evidence and reopening come from the people working on it already.
OWNER_TOLD_OF_UPDATE = {
    ActionChange.OWNER: Kind.ACTION,
    ActionChange.DUE_DATE: Kind.ACTION,
    ActionChange.VERIFIED: Kind.INFORMATION,
    ActionChange.NOT_ACHIEVED: Kind.INFORMATION,
    ActionChange.CANCELLED: Kind.INFORMATION,
}


def _told_of_action(data: AboutAnAction, org: Organisation) -> list[Recipient]:
    """The people of an agreed action: its owner, who it is escalated to, the Head of Service."""
    match data:
        case ActionAgreed() | ActionReminderDue():
            return [Recipient(data.owner_id, Kind.ACTION)]
        case ActionOverdue():
            return [
                Recipient(data.escalated_to_id, Kind.ACTION),
                Recipient(data.owner_id, Kind.INFORMATION),
            ]
        case ActionCompleted():
            head = org.leads_of(data.service_area).head_of_service
            return _not_informing(data.completed_by, [Recipient(head, Kind.INFORMATION)])
    kind = OWNER_TOLD_OF_UPDATE.get(data.change)
    return _not_informing(data.changed_by, [Recipient(data.owner_id, kind)] if kind else [])


def _told_of_allocation(data: AboutAnAllocation) -> list[Recipient]:
    """The people of a programme audit: its auditor, the case's practitioner and team manager."""
    match data:
        case AuditAllocated() if data.reallocated_from is None:
            return [
                Recipient(data.auditor_id, Kind.ACTION),
                Recipient(data.practitioner_id, Kind.INFORMATION),
                Recipient(data.team_manager_id, Kind.INFORMATION),
            ]
        case AuditAllocated() | AuditReminderDue():
            # After a decline the case's people were invited already, when it was drawn.
            return [Recipient(data.auditor_id, Kind.ACTION)]
        case AuditExempted():
            return _not_informing(data.exempted_by, [Recipient(data.auditor_id, Kind.INFORMATION)])
    return [
        Recipient(data.escalated_to_id, Kind.ACTION),
        Recipient(data.auditor_id, Kind.INFORMATION),
    ]


def _told_of_grading(data: AuditGraded) -> list[Recipient]:
    """The case's practitioner learns the outcome of every audit of their case. An Inadequate
    one is told them by its InadequateFound (published with every such AuditGraded), not twice."""
    if data.overall_grade is Grade.INADEQUATE:
        return []
    return _not_informing(data.auditor_id, [Recipient(data.practitioner_id, Kind.INFORMATION)])


def _not_informing(actor: str, found: list[Recipient]) -> list[Recipient]:
    """Nobody is informed of what they did themselves; something to act on still reaches them."""
    return [r for r in found if r.staff_id != actor or r.kind is Kind.ACTION]


def _each_once(found: list[Recipient]) -> list[Recipient]:
    """One person in two roles is told once, as the more urgent kind."""
    unique: dict[str, Recipient] = {}
    for recipient in found:
        if recipient.staff_id not in unique or recipient.kind is Kind.ACTION:
            unique[recipient.staff_id] = recipient
    return list(unique.values())


def webhook_for(staff_id: str, org: Organisation, webhook_urls: Mapping[str, str]) -> str | None:
    """The URL configured for the person, else the one for their team, else none."""
    staff = org.staff_by_id.get(staff_id)
    team = staff.team if staff is not None else None
    return webhook_urls.get(staff_id) or (webhook_urls.get(team) if team else None)


def channels_for(
    staff_id: str, org: Organisation, webhook_urls: Mapping[str, str]
) -> list[NotificationChannel]:
    """The inbox always; email for people in the organisation file; a webhook if configured."""
    channels = [NotificationChannel.INBOX]
    if staff_id in org.staff_by_id:
        channels.append(NotificationChannel.EMAIL)
    if webhook_for(staff_id, org, webhook_urls) is not None:
        channels.append(NotificationChannel.WEBHOOK)
    return channels


def initial_status(kind: Kind, channel: NotificationChannel, information: Information) -> Status:
    """Inbox items are delivered at once; information emails for digest readers are held."""
    if channel is NotificationChannel.INBOX:
        return Status.DELIVERED
    digest = kind is Kind.INFORMATION and information is Information.DAILY_DIGEST
    return Status.HELD if digest and channel is NotificationChannel.EMAIL else Status.PENDING


def deliveries(
    found: Sequence[Recipient],
    org: Organisation,
    webhook_urls: Mapping[str, str],
    preferences: Mapping[str, Information],
) -> list[Delivery]:
    """Every notification to make for `found`: one per person and channel, with its status."""
    return [
        Delivery(
            recipient.staff_id,
            recipient.kind,
            channel,
            initial_status(
                recipient.kind,
                channel,
                preferences.get(recipient.staff_id, Information.IMMEDIATELY),
            ),
        )
        for recipient in found
        for channel in channels_for(recipient.staff_id, org, webhook_urls)
    ]
