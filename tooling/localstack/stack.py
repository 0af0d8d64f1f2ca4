"""The whole local stack: a broker and a database, started together, stopped together.

External servers win: with KAFKA_BOOTSTRAP_SERVERS set no broker is started; with DATABASE_URL
set no database server is started, and the services' databases are created on that server.
Each service gets a database of its own (the same names as deploy/postgres/init.sql).
"""

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

from services.catalogue import SERVICE_NAMES
from shared.auth import LocalIssuer
from tooling.localstack.control import Part
from tooling.localstack.kafka import KAFKA_VERSION, KafkaServer, java_available
from tooling.localstack.mail import MailCatcher
from tooling.localstack.postgres import EmbeddedPostgres, create_database, server_version
from tooling.localstack.processes import StackError
from tooling.localstack.tansu import MEMORY_ONLY_WARNING, TansuServer
from tooling.localstack.topics import ensure_topics

Database = Literal["sqlite", "postgres"]

LOCAL_MACHINE_CLIENTS = {
    # `qa run` seeds its demo history as this client: it reads what it must act on.
    "qa-demo": ["GET /followups", "GET /followups/{followup_id}", "GET /moderations"],
    # README: a reporting tool's token (`qa token reporting --service`) reads the statistics.
    "reporting": [
        "GET /stats/grades",
        "GET /stats/target",
        "GET /stats/consistency",
        "GET /stats/timeliness",
    ],
}
"""The machine callers a local stack lets in (MACHINE_CLIENTS), and the routes each may call."""
Progress = Callable[[str], None]


@dataclass(frozen=True)
class StackInfo:
    """Where the stack's servers are, saved so that `qa stack status/down` can find them."""

    broker: str
    bootstrap_servers: str
    idempotent_producer: bool
    database: str
    database_urls: dict[str, str]
    data_dir: str
    pid: int
    child_pids: list[int] = field(default_factory=list)
    smtp_port: int | None = None
    mail_dir: str | None = None
    jwks_file: str | None = None
    clock_offset_file: str | None = None
    """The end-to-end tests' movable clock (CLOCK_OFFSET_FILE); a stack never sets it."""

    def environment(self, service: str | None = None) -> dict[str, str]:
        """What a service process needs in its environment to use this stack."""
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KAFKA_IDEMPOTENT_PRODUCER": str(self.idempotent_producer).lower(),
            "DATA_DIR": self.data_dir,
            # Local running: the local issuer's key file, which production refuses, is fine.
            "QA_ENVIRONMENT": "development",
            # Unless the environment already names them (the tests name their own).
            "MACHINE_CLIENTS": os.environ.get("MACHINE_CLIENTS")
            or json.dumps(LOCAL_MACHINE_CLIENTS),
        }
        if self.jwks_file is not None:
            env["AUTH_JWKS_FILE"] = self.jwks_file
        if self.clock_offset_file is not None:
            env["CLOCK_OFFSET_FILE"] = self.clock_offset_file
        if self.smtp_port is not None:
            env |= {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.smtp_port)}
        if service is not None and service in self.database_urls:
            env["DATABASE_URL"] = self.database_urls[service]
        return env

    def with_children(self, pids: list[int]) -> "StackInfo":
        return replace(self, child_pids=[*self.child_pids, *pids])

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> "StackInfo":
        return cls(**json.loads(path.read_text()))


def local_issuer(root: Path) -> LocalIssuer:
    """The stack's token issuer: `qa token` mints with it, the services trust its JWKS file."""
    return LocalIssuer(root / "auth")


class LocalStack:
    def __init__(self, root: Path, database: Database = "sqlite") -> None:
        self.root = root
        self.database = database
        self._broker: KafkaServer | TansuServer | None = None
        self._postgres: EmbeddedPostgres | None = None
        self._mail = MailCatcher(root / "mail")

    def start(self, progress: Progress = print) -> StackInfo:
        try:
            broker, bootstrap, idempotent = self._start_broker(progress)
            progress("Creating the contract's topics and dead-letter topics")
            asyncio.run(ensure_topics(bootstrap))
            database, urls = self._start_database(progress)
            progress(f"Starting a mail catcher (messages saved under {self._mail.folder})")
            self._mail.start()
        except BaseException:
            self.stop()
            raise
        return StackInfo(
            broker,
            bootstrap,
            idempotent,
            database,
            urls,
            str(self.root / "data"),
            os.getpid(),
            self.server_pids(),
            self._mail.port,
            str(self._mail.folder),
            str(local_issuer(self.root).ensure().jwks_file),
        )

    def stop(self) -> None:
        """Stop every part as it is now: restarted ones included (see `restart`)."""
        self._mail.stop()
        if self._broker is not None:
            self._broker.stop()
        if self._postgres is not None:
            self._postgres.stop()

    def restart(self, part: Part) -> str:
        """Stop `part` and start it again on the same port and data folder; says what it did.

        Only parts this stack started can be restarted: an external broker or database (or
        SQLite, or the memory-only broker, which would come back empty) cannot.
        """
        if part == "mail":
            self._mail.stop()
            self._mail.start()
            return f"mail catcher restarted on port {self._mail.port}"
        if part == "kafka":
            if not isinstance(self._broker, KafkaServer):
                raise StackError("only a broker this stack started from the Kafka jars restarts")
            self._broker.stop()
            self._broker.start()
            return f"Apache Kafka restarted at {self._broker.bootstrap_servers}"
        if self._postgres is None:
            raise StackError("no PostgreSQL of this stack runs (SQLite, or DATABASE_URL's server)")
        self._postgres.stop()
        self._postgres.start()
        return "PostgreSQL restarted"

    def dead_parts(self) -> list[Part]:
        """The parts this stack started whose server is no longer running."""
        dead: list[Part] = []
        if isinstance(self._broker, KafkaServer) and (
            self._broker.process is None or self._broker.process.poll() is not None
        ):
            dead.append("kafka")
        if self._postgres is not None and not self._postgres.running():
            dead.append("postgres")
        return dead

    def server_pids(self) -> list[int]:
        pids = []
        if self._broker is not None and self._broker.process is not None:
            pids.append(self._broker.process.pid)
        if self._postgres is not None and (pid := self._postgres.pid()) is not None:
            pids.append(pid)
        return pids

    def _start_broker(self, progress: Progress) -> tuple[str, str, bool]:
        external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if external:
            progress(f"Using the Kafka broker at {external} (KAFKA_BOOTSTRAP_SERVERS)")
            return f"external Kafka at {external}", external, True
        if java_available():
            progress(f"Starting Apache Kafka {KAFKA_VERSION} (KRaft, single node)")
            kafka = self._broker = KafkaServer(self.root / "kafka")
            kafka.start()
            return f"Apache Kafka {kafka.version()} (KRaft)", kafka.bootstrap_servers, True
        progress(MEMORY_ONLY_WARNING)
        tansu = self._broker = TansuServer(self.root / "tansu")
        tansu.start()
        return f"Tansu {tansu.version()} (memory only)", tansu.bootstrap_servers, False

    def _start_database(self, progress: Progress) -> tuple[str, dict[str, str]]:
        server_url = os.environ.get("DATABASE_URL")
        if server_url:
            progress("Using the PostgreSQL server at DATABASE_URL")
        elif self.database == "sqlite":
            return f"SQLite (one file per service under {self.root / 'data'})", {}
        else:
            progress("Starting PostgreSQL (embedded)")
            self._postgres = EmbeddedPostgres(self.root / "postgres")
            server_url = self._postgres.start()
        urls = {service: create_database(server_url, service) for service in SERVICE_NAMES}
        return f"{server_version(server_url)} (one database per service)", urls
