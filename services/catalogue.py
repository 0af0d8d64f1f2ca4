"""The platform's services: the one list the tools read (`qa`, local stack, documents, purge).

No service imports this module, so no service imports another.
"""

from services.audit.service import SERVICE as AUDIT
from services.moderation.service import SERVICE as MODERATION
from services.notifications.service import SERVICE as NOTIFICATIONS
from services.scheduler.service import SERVICE as SCHEDULER
from shared.service import ServiceDefinition

SERVICES: tuple[ServiceDefinition, ...] = (AUDIT, MODERATION, SCHEDULER, NOTIFICATIONS)
BY_NAME: dict[str, ServiceDefinition] = {service.name: service for service in SERVICES}
SERVICE_NAMES: tuple[str, ...] = tuple(BY_NAME)
