"""What a service declares about itself, once, in `services/<name>/service.py`.

The runtime reads it (topics for the AsyncAPI document, route permissions for the guard), and so
do the tools (`qa`, the local stack, the committed AsyncAPI documents, `qa purge`) through the
one list in `services/catalogue.py`, the only Python module that lists them.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from shared.access_trail import purge_access_trail
from shared.auth import AccessRole
from shared.permissions import ACCESS_TRAIL
from shared.settings import ProcessSettings, ServiceSettings

Purge = Callable[[Engine, datetime, ServiceSettings], tuple[str, int]]
"""Deletes what is past retention, given the service's settings; says what went and how many."""


def purge_old_access_trail(
    engine: Engine, now: datetime, settings: ServiceSettings
) -> tuple[str, int]:
    days = settings.access_trail_retention_days
    return f"access trail rows older than {days} days", purge_access_trail(engine, now, days)


def consumer_group_of(service: str) -> str:
    """`qa-<service>`: the one rule for a service's consumer group, used wherever it is named."""
    return f"qa-{service}"


@dataclass(frozen=True)
class ServiceDefinition:
    settings: type[ServiceSettings]
    title: str
    description: str
    consumes: tuple[str, ...]
    publishes: tuple[str, ...]
    permissions: Mapping[str, frozenset[AccessRole]]
    """Who may call each of the service's own routes ("METHOD /path/{param}")."""
    purges: tuple[Purge, ...] = ()
    """Retention beyond the access trail's, which every service has."""

    @property
    def name(self) -> str:
        return self.settings.service_name

    @property
    def module(self) -> str:
        """What `python -m` runs."""
        return f"services.{self.name}"

    @property
    def consumer_group(self) -> str:
        """The Kafka consumer group (and client id) its consumers use, so its ACLs name it."""
        return consumer_group_of(self.name)

    @property
    def route_permissions(self) -> Mapping[str, frozenset[AccessRole]]:
        """Every guarded route the app serves: its own and the access trail's."""
        return {**self.permissions, **ACCESS_TRAIL}

    @property
    def all_purges(self) -> tuple[Purge, ...]:
        return (purge_old_access_trail, *self.purges)


@dataclass(frozen=True)
class FrontDefinition:
    """The web front: a process with settings and pages, but no database and no topics."""

    settings: type[ProcessSettings]
    title: str
    description: str

    @property
    def name(self) -> str:
        return self.settings.service_name

    @property
    def module(self) -> str:
        return f"services.{self.name}"
