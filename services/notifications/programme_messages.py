"""What a notification about the monthly audit programme says: the case reference, the month,
the due date or the grade, and a link to the allocation's (or the audit's) page. Never a
decline or exemption reason, a reflection or a learning point: those are free text, which
the events do not carry and the pages show to those who may see them.

An allocation's auditor is asked to audit it and the case's people are invited to reflect on
it, so the words for one event differ by the kind a recipient is told it as.
"""

from services.notifications.routing import AboutAnAllocation, Kind
from services.notifications.wording import Message, grade_words, long_date, month_words
from shared.events import AuditAllocated, AuditExempted, AuditGraded, AuditOverdue

ALLOCATION = "Open the allocation"


def compose_programme(data: AboutAnAllocation | AuditGraded, kind: Kind) -> Message:
    """The words for a programme audit's step, or for an audit's outcome to its practitioner."""
    if isinstance(data, AuditGraded):
        grade = grade_words(data.overall_grade)
        return Message(
            f"[For information] Audit of case {data.case_id} graded {grade}: your learning",
            f"An audit of case {data.case_id} was graded {grade}.",
            ["The audit's page shows each domain's grade and what could be better."],
            f"/audits/{data.audit_id}",
            "Open the audit",
        )
    if isinstance(data, AuditAllocated):
        return _allocated(data, kind)
    if isinstance(data, AuditExempted):
        return _exempted(data)
    if isinstance(data, AuditOverdue):
        return _overdue(data, kind)
    case, due = data.case_id, long_date(data.due_on)
    when = "today" if data.reminder == "due_today" else f"on {due}"
    return Message(
        f"[Reminder] Audit of case {case} due {when}",
        f"Reminder: the audit of case {case} allocated to you is due {when}.",
        ["Please submit it from the allocation's page, where your draft is kept."],
        f"/allocations/{data.allocation_id}",
        ALLOCATION,
    )


def _allocated(data: AuditAllocated, kind: Kind) -> Message:
    case, due, month = data.case_id, long_date(data.due_on), month_words(data.month)
    link = f"/allocations/{data.allocation_id}"
    if kind is Kind.INFORMATION:
        return Message(
            f"[For information] Case {case} chosen for this month's audit: add your reflection",
            f"Case {case} was chosen at random for the {month} audit programme.",
            [
                f"A trained auditor from outside the team will audit it with you by {due}.",
                "Please add your reflection on the allocation's page.",
            ],
            link,
            ALLOCATION,
        )
    passed_on = data.reallocated_from is not None
    return Message(
        f"[Action] Audit allocated: case {case} due {due}",
        f"The audit of case {case} in the {month} programme "
        + ("has been passed to you." if passed_on else "is allocated to you."),
        [
            f"It is due by {due}.",
            "The allocation's page has the draft audit and the reflections of the case's "
            "practitioner and team manager.",
        ],
        link,
        ALLOCATION,
    )


def _exempted(data: AuditExempted) -> Message:
    case, month = data.case_id, month_words(data.month)
    return Message(
        f"[For information] Audit of case {case} exempted from the {month} programme",
        f"Case {case} was exempted from the {month} audit programme.",
        ["The audit allocated to you is no longer needed.", "The allocation's page says why."],
        f"/allocations/{data.allocation_id}",
        ALLOCATION,
    )


def _overdue(data: AuditOverdue, kind: Kind) -> Message:
    days = data.working_days_overdue
    late = f"{days} working day{'s' if days != 1 else ''} late"
    told = (
        "This has been escalated to you. Please make sure it is submitted."
        if kind is Kind.ACTION
        else "Your line manager has been told. Please submit it from the allocation's page."
    )
    return Message(
        f"[Overdue] Audit of case {data.case_id} is {late}",
        f"The audit of case {data.case_id} in the {month_words(data.month)} programme was due "
        f"on {long_date(data.due_on)} and is not submitted.",
        [told],
        f"/allocations/{data.allocation_id}",
        ALLOCATION,
    )
