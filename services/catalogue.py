"""The platform's services and its web front: the one list the tools read (`qa`, local stack,
documents, purge).

No service imports this module, so no service imports another.
"""

from services.audit.service import SERVICE as AUDIT
from services.moderation.service import SERVICE as MODERATION
from services.notifications.service import SERVICE as NOTIFICATIONS
from services.scheduler.service import SERVICE as SCHEDULER
from services.web.service import SERVICE as WEB
from shared.service import FrontDefinition, ServiceDefinition

SERVICES: tuple[ServiceDefinition, ...] = (AUDIT, MODERATION, SCHEDULER, NOTIFICATIONS)
"""The services with a database and topics of their own."""
FRONT: FrontDefinition = WEB
"""The web front, which calls the services' APIs."""
BY_NAME: dict[str, ServiceDefinition] = {service.name: service for service in SERVICES}
SERVICE_NAMES: tuple[str, ...] = tuple(BY_NAME)
