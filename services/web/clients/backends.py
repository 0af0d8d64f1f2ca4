"""The four clients for one request, as the signed-in person."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.web.clients.api import Api
from services.web.clients.audit import AuditClient
from services.web.clients.moderation import ModerationClient
from services.web.clients.notifications import NotificationsClient
from services.web.clients.scheduler import SchedulerClient
from services.web.session import Person


@dataclass(frozen=True)
class Backends:
    audit: AuditClient
    moderation: ModerationClient
    scheduler: SchedulerClient
    notifications: NotificationsClient


def backends(request: Request, person: Person) -> Iterator[Backends]:
    """Clients that call each API with the person's token; closed when the request ends."""
    settings = request.app.state.settings
    apis = [
        Api(url, person.token, timeout=settings.api_timeout_seconds)
        for url in (
            settings.audit_api_url,
            settings.moderation_api_url,
            settings.scheduler_api_url,
            settings.notifications_api_url,
        )
    ]
    try:
        yield Backends(
            AuditClient(apis[0]),
            ModerationClient(apis[1]),
            SchedulerClient(apis[2]),
            NotificationsClient(apis[3]),
        )
    finally:
        for api in apis:
            api.close()


Services = Annotated[Backends, Depends(backends)]
