"""The notifications service's app factory: wiring only, nothing runs until the app starts."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from services.notifications.api import notifications_router
from services.notifications.delivery import (
    DeliveryWorker,
    Sender,
    SmtpMailer,
    SmtpSettings,
    WebhookPoster,
)
from services.notifications.handlers import NotifyContext, on_audit_graded, on_event
from services.notifications.routing import ROUTED
from services.notifications.settings import NotificationSettings
from shared.clock import Clock, SystemClock
from shared.events import AuditGraded, EventData
from shared.events.topics import AUDIT_GRADED
from shared.inbox import EventHandler
from shared.organisation import load_organisation
from shared.runtime import ServiceRuntime


def create_app(
    settings: NotificationSettings, clock: Clock | None = None, mailer: Sender | None = None
) -> FastAPI:
    ctx = NotifyContext(
        organisation=load_organisation(settings.organisation_file),
        clock=clock or SystemClock(),
        base_url=settings.record_base_url,
        webhook_urls=settings.webhook_urls,
    )
    runtime = ServiceRuntime.build(settings)
    handlers: dict[type[EventData], EventHandler] = {
        event: partial(on_event, ctx=ctx) for event in ROUTED
    }
    handlers[AuditGraded] = partial(on_audit_graded, ctx=ctx)
    runtime.consume(handlers, AUDIT_GRADED, *sorted({event.topic for event in ROUTED}))
    smtp = SmtpSettings(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_starttls,
        settings.smtp_username,
        settings.smtp_password,
        settings.mail_from,
    )
    worker = DeliveryWorker(
        runtime.engine,
        ctx,
        mailer or SmtpMailer(smtp),
        WebhookPoster(),
        max_attempts=settings.delivery_max_attempts,
        backoff_seconds=settings.delivery_backoff_seconds,
        digest_at=settings.digest_time,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with runtime.running():
            stop = asyncio.Event()
            delivering = asyncio.create_task(worker.run(stop, settings.delivery_poll_seconds))
            try:
                yield
            finally:
                stop.set()
                await delivering

    app = FastAPI(
        title="Notifications service",
        description="Tells the right managers, once, by email, in-app inbox and webhook.",
        lifespan=lifespan,
    )
    app.include_router(runtime.ops_router())
    runtime.secure(app, ctx.organisation, ctx.clock, notifications_router(runtime.engine, ctx))
    app.state.worker = worker
    return app
