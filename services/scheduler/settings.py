from pathlib import Path

from pydantic import Field

from shared.organisation import DEMO_ORGANISATION_FILE
from shared.settings import ServiceSettings


class SchedulerSettings(ServiceSettings):
    service_name = "scheduler"

    organisation_file: Path = DEMO_ORGANISATION_FILE
    http_port: int = 8003
    overdue_repeat_working_days: int = Field(default=2, ge=1)
    working_day_starts_at: int = Field(default=8, ge=0, le=23)
    """Hour (UK local time) at which a day's reminders and escalations fire."""
    timer_poll_seconds: float = Field(default=1.0, gt=0)
    timer_batch_size: int = Field(default=100, ge=1)
