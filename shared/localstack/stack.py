"""The whole local stack: a broker and a database, started together, stopped together.

External servers win: with KAFKA_BOOTSTRAP_SERVERS set no broker is started, with DATABASE_URL
set no database is started.
"""

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from shared.localstack.kafka import KAFKA_VERSION, KafkaServer, java_available
from shared.localstack.postgres import EmbeddedPostgres, create_database, server_version
from shared.localstack.tansu import MEMORY_ONLY_WARNING, TansuServer
from shared.localstack.topics import ensure_topics

Database = Literal["sqlite", "postgres"]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class StackInfo:
    broker: str
    bootstrap_servers: str
    idempotent_producer: bool
    database: str
    database_url: str | None
    pid: int

    def environment(self) -> dict[str, str]:
        """What a service process needs in its environment to use this stack."""
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KAFKA_IDEMPOTENT_PRODUCER": str(self.idempotent_producer).lower(),
        }
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> "StackInfo":
        return cls(**json.loads(path.read_text()))


class LocalStack:
    def __init__(self, root: Path, database: Database = "sqlite") -> None:
        self.root = root
        self.database = database
        self._broker: KafkaServer | TansuServer | None = None
        self._postgres: EmbeddedPostgres | None = None

    def start(self, progress: Progress = print) -> StackInfo:
        try:
            broker, bootstrap, idempotent = self._start_broker(progress)
            progress("Creating the contract's topics and dead-letter topics")
            asyncio.run(ensure_topics(bootstrap))
            database, url = self._start_database(progress)
        except BaseException:
            self.stop()
            raise
        return StackInfo(broker, bootstrap, idempotent, database, url, os.getpid())

    def stop(self) -> None:
        if self._broker is not None:
            self._broker.stop()
        if self._postgres is not None:
            self._postgres.stop()

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

    def _start_database(self, progress: Progress) -> tuple[str, str | None]:
        external = os.environ.get("DATABASE_URL")
        if external:
            progress("Using the database at DATABASE_URL")
            return server_version(external), external
        if self.database == "sqlite":
            return f"SQLite (one file per service under {self.root / 'data'})", None
        progress("Starting PostgreSQL (embedded)")
        self._postgres = EmbeddedPostgres(self.root / "postgres")
        url = create_database(self._postgres.start(), "qa")
        return server_version(url), url
