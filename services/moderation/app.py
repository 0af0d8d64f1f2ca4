"""The moderation service's app factory: wiring only, nothing runs until the app starts."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlmodel import Session

from services.moderation import metrics
from services.moderation.api import ModerationDependencies, moderation_router
from services.moderation.handlers import SamplingPolicy, request_moderation
from services.moderation.queries import sampling_rates
from services.moderation.settings import ModerationSettings
from shared.clock import Clock, SystemClock
from shared.events import AuditGraded, CloudEvent, EventData
from shared.events.topics import AUDIT_GRADED
from shared.organisation import load_organisation
from shared.runtime import ServiceRuntime


def create_app(settings: ModerationSettings, clock: Clock | None = None) -> FastAPI:
    clock = clock or SystemClock()
    runtime = ServiceRuntime.build(settings)
    organisation = load_organisation(settings.organisation_file)
    policy = SamplingPolicy(
        default_rate=settings.default_sample_rate,
        window=settings.adaptive_window,
        threshold=settings.adaptive_threshold,
        raised_rate=settings.adaptive_raised_rate,
    )

    def on_audit_graded(session: Session, event: CloudEvent[EventData]) -> None:
        request_moderation(session, event, organisation, policy, clock.now())

    runtime.consume({AuditGraded: on_audit_graded}, AUDIT_GRADED)
    deps = ModerationDependencies(runtime.engine, organisation, clock, policy)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with runtime.running():
            for area, rate in sampling_rates(runtime.engine, policy).items():
                metrics.SAMPLE_RATE.labels(area).set(rate)
            yield

    app = FastAPI(
        title="Moderation service",
        description="Samples and re-grades audits and measures grading consistency.",
        lifespan=lifespan,
    )
    app.include_router(runtime.ops_router())
    runtime.secure(app, organisation, clock, moderation_router(deps))
    return app
