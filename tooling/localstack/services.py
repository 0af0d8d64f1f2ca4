"""Runs the platform's services as separate processes against the local stack."""

import os
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
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
    def exited(self) -> bool:
        """Started, then stopped without being asked to."""
        return self.process is not None and self.process.poll() is not None

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def start(self, stack: StackInfo, extra: Mapping[str, str] | None = None) -> None:
        env = {
            **os.environ,
            **stack.environment(self.name),
            **(extra or {}),
            "HTTP_PORT": str(self.port),
        }
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


def web_environment(auth_dir: Path, apis: Mapping[str, str]) -> dict[str, str]:
    """What the web front needs locally: the services' addresses, the local issuer's keys (for
    its pick-a-person sign-in), a fresh session secret, and cookies without Secure (plain HTTP).
    """
    return {
        **{f"{name.upper()}_API_URL": url for name, url in apis.items()},
        "LOCAL_SIGNIN_KEY_DIR": str(auth_dir),
        "SESSION_SECRET": secrets.token_urlsafe(32),
        "SECURE_COOKIES": "false",
    }
