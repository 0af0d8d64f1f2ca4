from pathlib import Path

from shared.organisation import DEMO_ORGANISATION_FILE
from shared.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    service_name = "audit"

    organisation_file: Path = DEMO_ORGANISATION_FILE
    monthly_audit_target: int = 50
    http_port: int = 8001
