from datetime import time
from pathlib import Path

from pydantic import Field

from shared.organisation import DEMO_ORGANISATION_FILE
from shared.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    service_name = "notifications"

    organisation_file: Path = DEMO_ORGANISATION_FILE
    http_port: int = 8004
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = "qa-platform@localhost"
    notification_retention_days: int = 365
    webhook_urls: dict[str, str] = Field(default_factory=dict)
    """Staff or team id -> URL that receives each notification as a JSON POST (JSON in env)."""
    record_base_url: str = "http://127.0.0.1"
    """Where the services' records live; links in messages point below it."""
    digest_time: time = time(7, 30)
    """UK local time at which daily digests of information notifications go out."""
    delivery_max_attempts: int = Field(default=10, ge=1)
    delivery_backoff_seconds: float = Field(default=30.0, gt=0)
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
