"""The scheduler's app factory: wiring only, nothing runs until the app starts."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from services.scheduler.action_api import action_router
from services.scheduler.api import scheduler_router
from services.scheduler.decisions import Rules
from services.scheduler.gauges import GAUGES_CHANNEL, SAFETY_REFRESH_SECONDS, gauges_step
from services.scheduler.handlers import event_handlers
from services.scheduler.queries import refresh_gauges
from services.scheduler.service import SERVICE
from services.scheduler.settings import SchedulerSettings
from services.scheduler.store import TIMERS_CHANNEL, SchedulerContext
from services.scheduler.timers import TimerService
from shared.calendar import WorkingDayCalendar
from shared.clock import Clock
from shared.organisation import load_organisation
from shared.runtime import ServiceRuntime


def create_app(settings: SchedulerSettings, clock: Clock | None = None) -> FastAPI:
    rules = Rules(
        organisation=load_organisation(settings.organisation_file),
        calendar=WorkingDayCalendar(),
        overdue_every=settings.overdue_repeat_working_days,
        starts_at_hour=settings.working_day_starts_at,
    )
    ctx = SchedulerContext(rules, clock or settings.clock)
    runtime = ServiceRuntime.build(SERVICE, settings)

    runtime.consume(event_handlers(ctx))
    timers = TimerService(runtime.engine, ctx, settings.timer_batch_size)
    # Woken when a timer is planned, asleep until the next is due: the poll is a safety net.
    runtime.every("timers", settings.timer_poll_seconds, timers.step, wake_on=TIMERS_CHANNEL)
    runtime.every(
        "followup-gauges",
        SAFETY_REFRESH_SECONDS,
        partial(gauges_step, partial(refresh_gauges, runtime.engine, ctx.clock), ctx.clock),
        wake_on=GAUGES_CHANNEL,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with runtime.running():
            yield

    app = FastAPI(
        title="Scheduler service",
        description="Follows up every Inadequate finding: reflective conversation, re-audit, "
        "reminders and escalation; and every action agreed on the way.",
        lifespan=lifespan,
    )
    app.include_router(runtime.ops_router())
    runtime.secure(
        app,
        rules.organisation,
        ctx.clock,
        scheduler_router(runtime.engine, ctx),
        action_router(runtime.engine, ctx),
    )
    app.state.timers = timers
    return app
