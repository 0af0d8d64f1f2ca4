from pathlib import Path

from pydantic import Field

from shared.organisation import DEMO_ORGANISATION_FILE
from shared.settings import ServiceSettings


class ModerationSettings(ServiceSettings):
    service_name = "moderation"

    organisation_file: Path = DEMO_ORGANISATION_FILE
    http_port: int = 8002
    default_sample_rate: float = Field(default=0.25, ge=0, le=1)
    adaptive_window: int = Field(default=20, ge=1)
    adaptive_threshold: float = Field(default=0.30, ge=0, le=1)
    adaptive_raised_rate: float = Field(default=0.50, ge=0, le=1)
