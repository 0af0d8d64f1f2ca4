"""The scheduler's app factory: wiring only, nothing runs until the app starts."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from services.scheduler.api import scheduler_router
from services.scheduler.handlers import (
    SchedulerContext,
    on_audit_graded,
    on_inadequate_found,
    on_moderation_completed,
)
from services.scheduler.settings import SchedulerSettings
from services.scheduler.timers import TimerService
from shared.calendar import WorkingDayCalendar
from shared.clock import Clock, SystemClock
from shared.events import AuditGraded, InadequateFound, ModerationCompleted
from shared.events.topics import AUDIT_GRADED, AUDIT_INADEQUATE_FOUND, MODERATION_COMPLETED
from shared.organisation import load_organisation
from shared.runtime import ServiceRuntime


def create_app(settings: SchedulerSettings, clock: Clock | None = None) -> FastAPI:
    ctx = SchedulerContext(
        organisation=load_organisation(settings.organisation_file),
        calendar=WorkingDayCalendar(),
        clock=clock or SystemClock(),
        overdue_every=settings.overdue_repeat_working_days,
        starts_at_hour=settings.working_day_starts_at,
    )
    runtime = ServiceRuntime.build(settings)

    runtime.consume(
        {
            InadequateFound: partial(on_inadequate_found, ctx=ctx),
            AuditGraded: partial(on_audit_graded, ctx=ctx),
            ModerationCompleted: partial(on_moderation_completed, ctx=ctx),
        },
        AUDIT_INADEQUATE_FOUND,
        AUDIT_GRADED,
        MODERATION_COMPLETED,
    )
    timers = TimerService(runtime.engine, ctx, settings.timer_batch_size)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with runtime.running():
            stop = asyncio.Event()
            firing = asyncio.create_task(timers.run(stop, settings.timer_poll_seconds))
            try:
                yield
            finally:
                stop.set()
                await firing

    app = FastAPI(
        title="Scheduler service",
        description="Follows up every Inadequate finding: reflective conversation, re-audit, "
        "reminders and escalation.",
        lifespan=lifespan,
    )
    app.include_router(runtime.ops_router())
    runtime.secure(app, ctx.organisation, ctx.clock, scheduler_router(runtime.engine, ctx))
    app.state.timers = timers
    return app
