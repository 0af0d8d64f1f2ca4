"""Settings shared by every service, read from the environment at start-up only.

A missing or malformed value stops the service with a message naming the variable.
"""

from pathlib import Path
from typing import ClassVar, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """The environment does not hold a usable configuration; the message says what to set."""


class ServiceSettings(BaseSettings):
    """Base of each service's settings; subclasses set `service_name` and add their own."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: ClassVar[str] = "qa"

    kafka_bootstrap_servers: str
    kafka_idempotent_producer: bool = True
    database_url: str | None = None
    data_dir: Path = Path(".qa")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    consumer_max_attempts: int = 5
    consumer_retry_backoff_seconds: float = 0.2
    outbox_poll_seconds: float = 0.5
    outbox_batch_size: int = 100

    @property
    def resolved_database_url(self) -> str:
        """DATABASE_URL when given, else the zero-setup SQLite file of this service."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / (self.service_name + '.db')}"


S = TypeVar("S", bound=ServiceSettings)


def load_settings(settings_class: type[S]) -> S:
    """Build settings from the environment, or fail naming every missing or bad variable."""
    try:
        return settings_class()
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in error['loc']).upper()}: "
            + (
                "missing required environment variable"
                if error["type"] == "missing"
                else error["msg"]
            )
            for error in exc.errors(include_url=False)
        ]
        raise SettingsError(
            f"{settings_class.service_name} cannot start: " + "; ".join(problems)
        ) from exc
