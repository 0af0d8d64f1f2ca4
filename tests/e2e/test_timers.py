"""The paths a run of the suite's length never reaches by waiting: reminders at 08:00 on a
coming working day, an escalation and its repeat days later, a delivery refused for good.

The services run on a clock the test moves on (shared.clock.OffsetClock, CLOCK_OFFSET_FILE):
no one sleeps for days, and the timers fire as they would on those days.
"""

import asyncio
import json
from datetime import date, datetime, timedelta

from services.scheduler.domain import fire_time
from shared.clock import OffsetClock
from shared.events.topics import FOLLOWUP_OVERDUE, FOLLOWUP_REMINDER_DUE, NOTIFICATION_FAILED
from tests.e2e.conftest import System, wait_for
from tests.e2e.test_system import CALENDAR, HEAD, ORG, audit, case_ref, followup_of, mail_to, submit
from tests.integration.kafka_tools import read_all

DIRECTOR = ORG.leads_of("early_help").assistant_director
WORKING_DAY_STARTS_AT = 8  # the scheduler's default, as the e2e services run


def move_to(clock: OffsetClock, day: date) -> datetime:
    """Move every service's clock on to just after the timers of `day` are due."""
    target = fire_time(day, WORKING_DAY_STARTS_AT) + timedelta(minutes=1)
    clock.move_on(target - clock.now())
    return target


def events(system: System, topic: str, case: str, expected: int, wait: float = 60) -> list[dict]:
    found = asyncio.run(
        read_all(system.stack.bootstrap_servers, topic, expected, timeout=wait, key=case.encode())
    )
    return [json.loads(record.value) for record in found]


def test_reminders_an_escalation_and_its_repeat_fire_on_their_days(system, moved_clock):
    case = case_ref()
    submit(system, audit(case, "inadequate"))
    due = date.fromisoformat(followup_of(system, case, "open")["due_on"])

    move_to(moved_clock, CALENDAR.working_days_before(due, 2))
    wait_for(lambda: mail_to(system, HEAD, "[Reminder]", case), "the first reminder", 60)
    move_to(moved_clock, due)
    wait_for(
        lambda: len(mail_to(system, HEAD, "[Reminder]", case)) == 2, "the due-today reminder", 60
    )
    first_overdue = CALENDAR.next_working_day_after(due)
    move_to(moved_clock, first_overdue)
    wait_for(lambda: mail_to(system, DIRECTOR, "[Overdue]", case), "the escalation", 60)
    move_to(moved_clock, CALENDAR.add_working_days(first_overdue, 2))  # OVERDUE_REPEAT 2 days
    wait_for(lambda: len(mail_to(system, DIRECTOR, "[Overdue]", case)) == 2, "its repeat", 60)

    reminders = events(system, FOLLOWUP_REMINDER_DUE, case, 2)
    assert [e["data"]["reminder"] for e in reminders] == ["two_working_days_before", "due_today"]
    overdue = events(system, FOLLOWUP_OVERDUE, case, 2)
    assert [e["data"]["working_days_overdue"] for e in overdue] == [1, 3]
    assert {e["data"]["escalated_to_id"] for e in overdue} == {DIRECTOR}


def test_an_email_refused_for_good_ends_in_notification_failed_after_its_tries(system, moved_clock):
    case = case_ref()
    system.mail.refused.add(case)  # the mail server takes nothing about this case
    try:
        submit(system, audit(case, "inadequate"))
        followup_of(system, case, "open")

        def failed() -> list[dict]:
            moved_clock.move_on(timedelta(minutes=10))  # past every retry's backoff
            return events(system, NOTIFICATION_FAILED, case, 1, wait=5)

        [first, *_] = wait_for(failed, "a NotificationFailed", 120)
    finally:
        system.mail.refused.discard(case)
    assert first["data"]["channel"] == "email"
    assert first["data"]["attempts"] == 3  # DELIVERY_MAX_ATTEMPTS in the e2e services
    assert mail_to(system, HEAD, "[Action]", case) == []  # nothing about it was taken
