from datetime import time
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_core import PydanticCustomError

from services.notifications.senders import SmtpSecurity
from shared.organisation import DEMO_ORGANISATION_FILE
from shared.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    service_name = "notifications"

    organisation_file: Path = DEMO_ORGANISATION_FILE
    http_port: int = 8004
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_security: SmtpSecurity = "none"
    """starttls or tls (implicit) for a real mail server; none only for a local mail catcher."""
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_ssl_cafile: Path | None = None
    """The CA bundle that signed the mail server's certificate; the system's when unset."""
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
    delivery_poll_seconds: float = Field(default=30.0, gt=0)
    """Only a safety net: a new delivery wakes the worker as its transaction commits (on
    PostgreSQL other replicas too) and a retry wakes it when due; this bounds a lost wake-up."""
    smtp_connections: int = Field(default=1, ge=1, le=8)
    """SMTP sessions kept open and sending at once; one suffices for a council's mail."""

    @model_validator(mode="after")
    def _no_login_over_a_plain_connection(self) -> Self:
        password = self.smtp_password.get_secret_value() if self.smtp_password else ""
        if self.smtp_security == "none" and (self.smtp_username or password):
            raise PydanticCustomError(
                "smtp_security",
                "SMTP_USERNAME and SMTP_PASSWORD would cross the network in clear with "
                "SMTP_SECURITY=none; set SMTP_SECURITY=starttls or tls",
            )
        if self.smtp_security == "none" and self.qa_environment == "production":
            raise PydanticCustomError(
                "smtp_security",
                "SMTP_SECURITY=none is refused in production: emails would cross the network "
                "in clear; set SMTP_SECURITY=starttls or tls (none is for a local mail catcher)",
            )
        return self
