"""Runs the platform's services as separate processes against the local stack."""

import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tooling.localstack.processes import free_port, stop_process, wait_until
from tooling.localstack.stack import StackInfo


@dataclass
class ServiceProcess:
    name: str
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def start(self, stack: StackInfo) -> None:
        env = {**os.environ, **stack.environment(self.name), "HTTP_PORT": str(self.port)}
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(
            self.ready,
            timeout=60,
            process=self.process,
            what=f"the {self.name} service",
            log=self.log_file,
        )

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ready", timeout=2) as response:  # noqa: S310 (our own loopback URL)
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
