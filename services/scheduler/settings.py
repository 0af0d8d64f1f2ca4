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
    timer_poll_seconds: float = Field(default=30.0, gt=0)
    """The timers worker's safety net, in seconds: it is woken when a timer is planned and
    sleeps until the next is due, so the poll only bounds a lost wake-up or a clock moved on
    (the end-to-end tests, which move it, set 1)."""
    timer_batch_size: int = Field(default=100, ge=1)
