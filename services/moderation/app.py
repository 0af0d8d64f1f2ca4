"""The moderation service's app factory: wiring only, nothing runs until the app starts."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from services.moderation import metrics
from services.moderation.api import ModerationDependencies, moderation_router
from services.moderation.handlers import ModerationContext, event_handlers
from services.moderation.queries import sampling_rates
from services.moderation.sampling import SamplingPolicy
from services.moderation.service import SERVICE
from services.moderation.settings import ModerationSettings
from shared.clock import Clock
from shared.organisation import load_organisation
from shared.runtime import ServiceRuntime


def create_app(settings: ModerationSettings, clock: Clock | None = None) -> FastAPI:
    clock = clock or settings.clock
    runtime = ServiceRuntime.build(SERVICE, settings)
    organisation = load_organisation(settings.organisation_file)
    policy = SamplingPolicy(
        default_rate=settings.default_sample_rate,
        window=settings.adaptive_window,
        threshold=settings.adaptive_threshold,
        raised_rate=settings.adaptive_raised_rate,
    )
    context = ModerationContext(organisation, policy, clock)
    runtime.consume(event_handlers(context))
    # Kappa over every moderation so far: counted by an aggregate at start and whenever a
    # moderation commits, not on each request nor on a tick.
    runtime.every(
        "consistency-gauges",
        metrics.GAUGES_SAFETY_NET_SECONDS,
        partial(metrics.refresh_consistency_gauges, runtime.engine),
        wake_on=metrics.CONSISTENCY_CHANNEL,
    )
    deps = ModerationDependencies(runtime.engine, context)

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
    app.state.runtime = runtime
    app.include_router(runtime.ops_router())
    runtime.secure(app, organisation, clock, moderation_router(deps))
    return app
