"""The configured day: once the month's Nth working day has come (AUDIT_PROGRAMME_DRAW_DAY)
and nobody has drawn its programme, the service draws it itself, with a random seed from
`secrets` (recorded) and the default parameters, allocated by nobody. Every replica runs the
check; the month's uniqueness lets one draw stand and the others' fail harmlessly."""

import logging
from collections.abc import Callable
from datetime import date

from sqlmodel import Session

from services.audit.programme_draw import DrawRefused
from services.audit.programme_drawing import Programmes, draw_month
from services.audit.programme_forms import DrawRequest
from services.audit.programme_store import programme_of
from shared.calendar import WorkingDayCalendar, uk_day
from shared.clock import Clock
from shared.errors import Conflict

log = logging.getLogger(__name__)


def draw_day(month: date, nth: int, calendar: WorkingDayCalendar) -> date:
    """The `nth` working day of `month` (the first when `nth` is 1)."""
    return calendar.add_working_days(calendar.roll_forward(month.replace(day=1)), nth - 1)


def programme_due(today: date, nth: int, calendar: WorkingDayCalendar) -> bool:
    """Whether the configured day of `today`'s month has come; never when it is 0 (off)."""
    return nth > 0 and today >= draw_day(today, nth, calendar)


def configured_day_draw(ctx: Programmes, nth: int, clock: Clock) -> Callable[[], bool]:
    """The worker's step: draw this month's programme when it is due and not drawn yet."""

    def step() -> bool:
        today = uk_day(clock.now())
        month = today.strftime("%Y-%m")
        if not programme_due(today, nth, ctx.calendar):
            return False
        with Session(ctx.engine) as session:
            if programme_of(session, month) is not None:
                return False
        try:
            drawn = draw_month(ctx, DrawRequest(month=month), None, clock.now())
        except Conflict:
            return False  # another replica drew it a moment ago
        except DrawRefused as refused:
            # Nothing eligible yet, or the rules cannot be met: tried again at the next step.
            log.warning("programme not drawn", extra={"month": month, "why": str(refused)})
            return False
        log.info("programme drawn on its configured day", extra={"month": drawn.month})
        return False

    return step
