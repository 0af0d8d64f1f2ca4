"""The audit service's app factory: wiring only, nothing runs until the app starts."""

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from services.audit.api import AuditDependencies, audit_router
from services.audit.board_api import board_router
from services.audit.handlers import (
    case_registrar,
    learn_followup_step,
    learn_moderator,
    read_cases_ahead,
    read_followups_ahead,
)
from services.audit.metrics import LEARNING_AUDITS_MONTH_TO_DATE, MONTHLY_AUDIT_TARGET
from services.audit.programme_api import programme_router
from services.audit.programme_drawing import Programmes
from services.audit.programme_schedule import configured_day_draw
from services.audit.queries import learning_audits_in_month
from services.audit.service import SERVICE
from services.audit.settings import AuditSettings
from shared.calendar import WorkingDayCalendar, uk_day
from shared.clock import Clock
from shared.events import (
    CaseAllocated,
    CaseAllocatedV2,
    CaseClosed,
    CaseOpened,
    CaseOpenedV2,
    EventData,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpScheduled,
    ModerationRequested,
)
from shared.inbox import EventHandler, reads_ahead, reads_only_its_subject
from shared.organisation import Organisation, load_organisation
from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)


def event_handlers(organisation: Organisation | None = None) -> dict[type[EventData], EventHandler]:
    """What the service does with each event it consumes: case events (v1 and v2) keep the
    register, moderation requests say who else may see an audit, follow-up events who may
    re-audit it. The organisation says each registered team's service area."""
    # Each reads and changes only its case's rows: its register entry, its audit's moderators
    # and re-audit assignment; a batch's register entries and assignments are read at once.
    register_case = reads_ahead(read_cases_ahead)(
        reads_only_its_subject(case_registrar(organisation or load_organisation()))
    )
    learn_step = reads_ahead(read_followups_ahead)(
        reads_only_its_subject(partial(learn_followup_step))
    )
    return {
        CaseOpened: register_case,
        CaseAllocated: register_case,
        CaseOpenedV2: register_case,
        CaseAllocatedV2: register_case,
        CaseClosed: register_case,
        ModerationRequested: reads_only_its_subject(partial(learn_moderator)),
        FollowUpScheduled: learn_step,
        FollowUpCompleted: learn_step,
        FollowUpCancelled: learn_step,
    }


def create_app(settings: AuditSettings, clock: Clock | None = None) -> FastAPI:
    clock = clock or settings.clock
    runtime = ServiceRuntime.build(SERVICE, settings)
    organisation = load_organisation(settings.organisation_file)
    runtime.consume(event_handlers(organisation))
    deps = AuditDependencies(
        engine=runtime.engine,
        organisation=organisation,
        clock=clock,
        calendar=WorkingDayCalendar(),
        monthly_target=settings.monthly_audit_target,
        small_number_threshold=settings.small_number_threshold,
    )
    MONTHLY_AUDIT_TARGET.set(settings.monthly_audit_target)
    programmes = Programmes(
        runtime.engine, organisation, deps.calendar, settings.monthly_audit_target
    )
    runtime.every(
        "programme-draw",
        settings.audit_programme_check_seconds,
        configured_day_draw(programmes, settings.audit_programme_draw_day, clock),
    )

    def month_to_date() -> float:
        # Read at scrape time; a database that is down must not take /metrics down with it.
        try:
            return learning_audits_in_month(runtime.engine, uk_day(clock.now()))
        except SQLAlchemyError:
            log.warning("learning audits this month not counted: database unavailable")
            return math.nan

    LEARNING_AUDITS_MONTH_TO_DATE.set_function(month_to_date)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with runtime.running():
            yield

    app = FastAPI(
        title="Audit service",
        description=(
            "Records graded case audits and publishes AuditGraded and InadequateFound; runs the "
            "monthly audit programme (the draw, allocations, drafts, reflections); gives the "
            "board's monthly figures (grades by domain, themes, learning, the target)."
        ),
        lifespan=lifespan,
    )
    app.include_router(runtime.ops_router())
    runtime.secure(
        app,
        deps.organisation,
        clock,
        audit_router(deps),
        board_router(deps),
        programme_router(deps),
    )
    app.state.runtime = runtime
    return app
