"""A local SMTP server that keeps every message as an .eml file: mail you can read."""

from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from shared.localstack.processes import free_port


class _SaveToFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.count += 1
        message = message_from_bytes(envelope.content, policy=policy.default)
        name = f"{self.count:05d}-{message.get('X-QA-Notification', 'mail')!s}.eml"
        (self.folder / name).write_bytes(envelope.content)
        return "250 Message accepted for delivery"


@dataclass
class MailCatcher:
    folder: Path
    port: int = field(default_factory=free_port)
    _controller: Controller | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(
            _SaveToFolder(self.folder), hostname="127.0.0.1", port=self.port
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
