from pathlib import Path

from pydantic import Field

from shared.organisation import DEMO_ORGANISATION_FILE
from shared.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    service_name = "audit"

    organisation_file: Path = DEMO_ORGANISATION_FILE
    monthly_audit_target: int = 50
    audit_programme_draw_day: int = Field(default=1, ge=0, le=15)
    """The month's programme is drawn on its Nth working day (AUDIT_PROGRAMME_DRAW_DAY), if
    the QA lead has not drawn it by then; 0 leaves every draw to the QA lead."""
    audit_programme_check_seconds: float = Field(default=300, gt=0)
    """How often the service looks whether the configured day has come."""
    small_number_threshold: int = Field(default=3, ge=1)
    """SMALL_NUMBER_THRESHOLD: in figures narrower than a service area (an area, a team), counts
    from 1 to this less one are hidden, since a cell of one audit names a worker; 1 hides none."""
    http_port: int = 8001
