"""Settings shared by every service, read from the environment at start-up only.

A missing or malformed value stops the service with a message naming the variable.
"""

import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.clock import Clock, clock_for


class SettingsError(RuntimeError):
    """The environment does not hold a usable configuration; the message says what to set."""


SIX_YEARS = 6 * 365 + 2  # days; with the leap days six years always hold

KafkaSecurityProtocol = Literal["PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256"]
Environment = Literal["production", "development"]
ROUTE_KEY = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) /\S*$")
"""A route as the permission tables name it: "METHOD /path/{param}"."""


@dataclass(frozen=True)
class KafkaSecurity:
    """How a Kafka client proves who it is and checks the broker; PLAINTEXT does neither.

    SASL_SSL is SCRAM over TLS: the broker's certificate is verified against `cafile` (the
    system's trusted CAs when None), and the password never leaves the client (SCRAM sends a
    proof). `password` is a SecretStr so that reprs and logs show only asterisks.
    """

    protocol: KafkaSecurityProtocol = "PLAINTEXT"
    mechanism: KafkaSaslMechanism = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = None
    cafile: Path | None = None

    def problems(self) -> list[str]:
        """What is wrong with this combination, each naming the environment variable to fix."""
        problems = []
        if self.protocol == "SASL_SSL":
            if not self.username:
                problems.append(
                    "KAFKA_SASL_USERNAME is required when KAFKA_SECURITY_PROTOCOL=SASL_SSL"
                )
            if self.password is None or not self.password.get_secret_value():
                problems.append(
                    "KAFKA_SASL_PASSWORD is required when KAFKA_SECURITY_PROTOCOL=SASL_SSL"
                )
        else:
            # Credentials with PLAINTEXT would be silently unused: the operator believes the
            # connection is authenticated and encrypted when it is neither.
            for variable, value in (
                ("KAFKA_SASL_USERNAME", self.username),
                ("KAFKA_SASL_PASSWORD", self.password),
                ("KAFKA_SSL_CAFILE", self.cafile),
            ):
                if value:
                    problems.append(
                        f"{variable} is set but KAFKA_SECURITY_PROTOCOL is {self.protocol}; "
                        "set KAFKA_SECURITY_PROTOCOL=SASL_SSL or unset it"
                    )
        if self.cafile is not None:
            try:
                ssl.create_default_context(cafile=str(self.cafile))
            except (OSError, ssl.SSLError):
                problems.append(f"KAFKA_SSL_CAFILE: {self.cafile} is not a readable PEM CA bundle")
        return problems


class ProcessSettings(BaseSettings):
    """What every process of the platform has: a name, an HTTP address, a log level."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: ClassVar[str] = "qa"

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    # Production unless told otherwise: a council that deploys as shipped gets the strict checks,
    # and only local running (the local stack, the tests) says QA_ENVIRONMENT=development.
    qa_environment: Environment = "production"
    clock_offset_file: Path | None = None
    """The end-to-end tests' movable clock (shared.clock.OffsetClock); refused in production."""

    @model_validator(mode="after")
    def _production_runs_on_real_time(self) -> Self:
        if self.clock_offset_file is not None and self.qa_environment == "production":
            raise PydanticCustomError(
                "clock_offset_file",
                "CLOCK_OFFSET_FILE moves the clock for tests: it is refused in production "
                "(QA_ENVIRONMENT=production); unset it",
            )
        return self

    @property
    def clock(self) -> Clock:
        """What this process takes for now: the system's clock, or the tests' movable one."""
        return clock_for(self.clock_offset_file)


class ServiceSettings(ProcessSettings):
    """Base of each backend service's settings; subclasses set `service_name` and add their own."""

    kafka_bootstrap_servers: str
    kafka_idempotent_producer: bool = True
    database_url: str | None = None
    data_dir: Path = Path(".qa")
    consumer_max_attempts: int = 5
    case_management_source: str = "/case-management"
    """The CloudEvents `source` of the case management system, the only writer of case events."""
    consumer_retry_backoff_seconds: float = 0.2
    outbox_poll_seconds: float = Field(default=5.0, gt=0)
    """The relay's safety net: it runs when a transaction adds events, and at least this often."""
    consumer_batch_size: int = Field(default=200, ge=1, le=10_000)
    """The most records a consumer applies in one transaction and one offset commit."""
    outbox_batch_size: int = 100
    # Bearer tokens: the issuer's JWKS URL in production, a JWKS file for local running.
    auth_issuer: str = "qa-platform-local"
    auth_audience: str = "qa-platform"
    auth_jwks_url: str | None = None
    auth_jwks_file: Path | None = None
    auth_max_token_hours: float = Field(default=12, gt=0, le=24)
    """The longest life (exp - iat) a token may have."""
    machine_clients: dict[str, frozenset[str]] = Field(default_factory=dict)
    """MACHINE_CLIENTS, JSON: machine client id (its tokens' `sub`) -> the routes it may call,
    e.g. {"reporting": ["GET /stats/grades"]}. Empty: no machine caller is let in."""
    max_request_bytes: int = 256 * 1024
    access_trail_retention_days: int = 730
    # Retention (README, "Retention"): case records from when they settled, messaging records
    # once Kafka no longer holds the events they stand for.
    case_record_retention_days: int = Field(default=SIX_YEARS, ge=1)
    """Audits, moderations, follow-ups and the facts kept of them, from when they settled."""
    sent_event_retention_days: int = Field(default=7, ge=1)
    """Outbox rows once published: Kafka holds the event from then on."""
    processed_event_retention_days: int = Field(default=35, ge=1)
    """Processed-event ids: longer than any topic keeps an event that could be delivered again."""
    kafka_security_protocol: KafkaSecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: KafkaSaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None

    @model_validator(mode="after")
    def _kafka_security_is_consistent(self) -> Self:
        problems = self.kafka_security.problems()
        if problems:
            # The text goes in as context, not as the template, so braces in a path stay literal.
            raise PydanticCustomError(
                "kafka_security", "{problems}", {"problems": "; ".join(problems)}
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _a_file_url_is_a_key_file(cls, data: Any) -> Any:
        # A local key set named as a URL (the compose file's dev profile needs a URL) is read as
        # the file it is: the key client fetches http(s) only.
        url = data.get("auth_jwks_url") if isinstance(data, dict) else None
        if isinstance(url, str) and url.startswith("file://") and not data.get("auth_jwks_file"):
            return {**data, "auth_jwks_url": None, "auth_jwks_file": urlsplit(url).path}
        return data

    @model_validator(mode="after")
    def _one_token_key_source(self) -> Self:
        if (self.auth_jwks_url is None) == (self.auth_jwks_file is None):
            raise PydanticCustomError(
                "auth_keys",
                "set AUTH_JWKS_URL (the token issuer's keys) or, for local running, "
                "AUTH_JWKS_FILE (written by `qa token`); exactly one of them",
            )
        return self

    @model_validator(mode="after")
    def _production_trusts_only_the_identity_provider(self) -> Self:
        if self.qa_environment != "production":
            return self
        problems = []
        if self.auth_jwks_file is not None:
            problems.append(
                "AUTH_JWKS_FILE is the local issuer's key set, refused in production: set "
                "AUTH_JWKS_URL to your identity provider's https:// key set instead "
                "(QA_ENVIRONMENT=development is for running locally only)"
            )
        if self.auth_jwks_url is not None and not self.auth_jwks_url.startswith("https://"):
            problems.append(
                "AUTH_JWKS_URL must be an https:// address in production: keys fetched over plain "
                "http:// can be swapped on the way"
            )
        if problems:
            raise PydanticCustomError("production", "{problems}", {"problems": "; ".join(problems)})
        return self

    @field_validator("machine_clients")
    @classmethod
    def _routes_are_route_keys(
        cls, clients: dict[str, frozenset[str]]
    ) -> dict[str, frozenset[str]]:
        malformed = sorted(
            route for routes in clients.values() for route in routes if not ROUTE_KEY.match(route)
        )
        if malformed:
            problem = (
                'routes are named "METHOD /path/{param}" as in the services\' permission tables; '
                f"not {', '.join(malformed)}"
            )
            raise PydanticCustomError("route_keys", "{problem}", {"problem": problem})
        return clients

    @property
    def auth_max_token_seconds(self) -> float:
        return self.auth_max_token_hours * 3600

    @property
    def kafka_security(self) -> KafkaSecurity:
        """The KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and KAFKA_SSL_CAFILE settings together."""
        return KafkaSecurity(
            protocol=self.kafka_security_protocol,
            mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_sasl_username,
            password=self.kafka_sasl_password,
            cafile=self.kafka_ssl_cafile,
        )

    @property
    def resolved_database_url(self) -> str:
        """DATABASE_URL when given, else the zero-setup SQLite file of this service."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / (self.service_name + '.db')}"


S = TypeVar("S", bound=ProcessSettings)


def load_settings(settings_class: type[S]) -> S:
    """Build settings from the environment, or fail naming every missing or bad variable."""
    try:
        return settings_class()
    except ValidationError as exc:
        problems = [
            # A check across variables has no location; its message names the variables itself.
            (f"{'.'.join(str(p) for p in error['loc']).upper()}: " if error["loc"] else "")
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
