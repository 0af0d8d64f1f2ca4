"""The bench's own stack under a temp folder: Apache Kafka, embedded PostgreSQL, its SMTP
recorder, and the services as OS processes, each stopped at the end even on failure."""

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from services.catalogue import BY_NAME
from shared.auth import LocalIssuer
from tooling.bench.mailbox import Mailbox
from tooling.localstack.postgres import create_database
from tooling.localstack.services import ServiceProcess
from tooling.localstack.stack import LocalStack, StackInfo, local_issuer

Progress = Callable[[str], None]
SERVICE_SETTINGS = {"AUDIT_PROGRAMME_DRAW_DAY": "0"}
"""No month's programme drawn by the audit service on its own during a run: that is not load."""


@dataclass
class Bench:
    stack: StackInfo
    """The stack, its SMTP server being the bench's recorder."""
    root: Path
    mailbox: Mailbox
    issuer: LocalIssuer
    running: dict[str, ServiceProcess] = field(default_factory=dict)

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def scratch_database(self, name: str) -> str:
        """A new empty database on the stack's server."""
        return create_database(next(iter(self.stack.database_urls.values())), name)

    def start(self, services: list[str], databases: dict[str, str] | None = None) -> None:
        """Start `services` side by side (each until /ready), on `databases` where given."""
        urls = {**self.stack.database_urls, **(databases or {})}
        stack = replace(self.stack, database_urls=urls)
        processes = {name: ServiceProcess(name, self.logs) for name in services}
        self.running.update(processes)  # before they start, so a failed start is still stopped
        with ThreadPoolExecutor(len(processes)) as pool:
            for done in [pool.submit(p.start, stack, SERVICE_SETTINGS) for p in processes.values()]:
                done.result()

    def stop(self, services: list[str] | None = None) -> None:
        for name in list(self.running) if services is None else services:
            self.running.pop(name).stop()

    def group_of(self, service: str) -> str:
        return BY_NAME[service].consumer_group

    def pid_of(self, service: str) -> int:
        process = self.running[service].process
        assert process is not None
        return process.pid


@contextmanager
def bench_stack(progress: Progress) -> Iterator[Bench]:
    # World-traversable: embedded PostgreSQL runs as its own system user under root.
    for external in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL"):
        # Servers of its own, always: another broker holds other runs' topics and live groups.
        os.environ.pop(external, None)
    root = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    root.chmod(0o755)
    local = LocalStack(root / "stack", database="postgres")
    mailbox = Mailbox()
    bench: Bench | None = None
    try:
        stack = local.start(progress)
        mailbox.start()
        bench = Bench(
            replace(stack, smtp_port=mailbox.port), root, mailbox, local_issuer(local.root)
        )
        yield bench
    finally:
        progress("Stopping the services and the stack")
        if bench is not None:
            bench.stop()
        mailbox.stop()
        local.stop()
        shutil.rmtree(root, ignore_errors=True)
