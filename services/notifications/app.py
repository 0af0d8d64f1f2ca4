"""The notifications service's app factory: wiring only, nothing runs until the app starts."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial

from fastapi import FastAPI
from sqlalchemy import Engine

from services.notifications.api import notifications_router
from services.notifications.context import DELIVERIES, NotifyContext
from services.notifications.delivery import DeliveryWorker, RetryPolicy
from services.notifications.digest import BACKLOG_EVERY_SECONDS, DigestWorker, measure_backlog
from services.notifications.handlers import on_audit_graded, on_event, read_events_ahead
from services.notifications.routing import ROUTED
from services.notifications.senders import Sender, SmtpMailer, SmtpSettings, WebhookPoster
from services.notifications.service import SERVICE
from services.notifications.settings import NotificationSettings
from shared.clock import Clock
from shared.events import AuditGraded, EventData
from shared.events.vocabulary import NotificationChannel
from shared.inbox import EventHandler, reads_ahead, reads_only_its_subject
from shared.organisation import load_organisation
from shared.runtime import ServiceRuntime


def event_handlers(ctx: NotifyContext) -> dict[type[EventData], EventHandler]:
    """What the service does with each event it consumes."""
    # Each reads only the rows of its event's case: the audit's people, the events parked for
    # them, and the notifications made for this very event (preferences change by the API).
    # A batch's reads of those are made ahead, at once for all its events.
    ahead = reads_ahead(read_events_ahead)
    handlers: dict[type[EventData], EventHandler] = {
        event: ahead(reads_only_its_subject(partial(on_event, ctx=ctx))) for event in ROUTED
    }
    # routed like the rest, and besides it teaches the events waiting for it the audit's people
    handlers[AuditGraded] = ahead(reads_only_its_subject(partial(on_audit_graded, ctx=ctx)))
    return handlers


def delivery_worker(
    engine: Engine, ctx: NotifyContext, settings: NotificationSettings, mailer: Sender | None
) -> DeliveryWorker:
    """The worker that sends email (by `mailer`, else over SMTP) and webhook calls."""
    smtp = SmtpSettings(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_security,
        settings.smtp_username,
        settings.smtp_password,
        settings.mail_from,
        settings.smtp_ssl_cafile,
    )
    senders: dict[NotificationChannel, Sender] = {
        NotificationChannel.EMAIL: mailer or SmtpMailer(smtp, settings.smtp_connections),
        NotificationChannel.WEBHOOK: WebhookPoster(),
    }
    policy = RetryPolicy(
        settings.delivery_max_attempts, timedelta(seconds=settings.delivery_backoff_seconds)
    )
    return DeliveryWorker(engine, ctx, senders, policy)


def create_app(
    settings: NotificationSettings, clock: Clock | None = None, mailer: Sender | None = None
) -> FastAPI:
    ctx = NotifyContext(
        organisation=load_organisation(settings.organisation_file),
        clock=clock or settings.clock,
        base_url=settings.record_base_url,
        webhook_urls=settings.webhook_urls,
    )
    runtime = ServiceRuntime.build(SERVICE, settings)
    runtime.consume(event_handlers(ctx))
    worker = delivery_worker(runtime.engine, ctx, settings, mailer)
    poll = settings.delivery_poll_seconds
    # Separate workers, so a failing digest never holds back an escalation email. None of
    # them scans on a short timer: deliveries are woken by the commit that queues them, the
    # digests sleep until the digest time, the backlog gauge counts every 15 s.
    runtime.every("notification-delivery", poll, worker.step, wake_on=DELIVERIES)
    digests = DigestWorker(runtime.engine, ctx, settings.digest_time)
    runtime.every("notification-digests", poll, digests.step)
    runtime.every(
        "notification-digest-backlog",
        BACKLOG_EVERY_SECONDS,
        partial(measure_backlog, runtime.engine),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            async with runtime.running():
                yield
        finally:
            worker.close()  # its SMTP session and send threads

    app = FastAPI(
        title="Notifications service",
        description="Tells the right managers, once, by email, in-app inbox and webhook.",
        lifespan=lifespan,
    )
    app.include_router(runtime.ops_router())
    runtime.secure(app, ctx.organisation, ctx.clock, notifications_router(runtime.engine, ctx))
    app.state.worker = worker
    return app
