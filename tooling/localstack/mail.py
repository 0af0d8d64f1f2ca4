"""A local SMTP server that keeps every message as an .eml file: mail you can read.

Like a mailbox, it keeps one copy per Message-ID: a message sent again after a crash between
the SMTP "250 OK" and the sender's commit is the same message, not a second one.
"""

import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tooling.localstack.processes import free_port


class _SaveToFolder:
    def __init__(self, folder: Path, refused: set[str]) -> None:
        self.folder = folder
        self.refused = refused
        # Numbered on from the highest number the folder holds (not from how many files it
        # holds: one removed by hand would make a number repeat), so a second run's messages
        # sort after the first's and two runs' messages never interleave.
        self.count = highest_number(folder)
        self.repeats = 0

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        message = message_from_bytes(envelope.content, policy=policy.default)
        if any(words in str(message.get("Subject", "")) for words in self.refused):
            return "554 5.7.1 Message refused"  # a lasting refusal: the sender must give up
        message_id = str(message.get("Message-ID", "")).strip("<> ")
        name = "".join(c if c.isalnum() or c in "-._@" else "_" for c in message_id)
        name = name or f"no-message-id-{uuid.uuid4().hex}"
        if any(self.folder.glob(f"*-{name}.eml")):
            self.repeats += 1
            return "250 Message accepted for delivery"  # a repeat of a message we hold
        self.count += 1
        (self.folder / f"{self.count:05d}-{name}.eml").write_bytes(envelope.content)
        return "250 Message accepted for delivery"


def highest_number(folder: Path) -> int:
    """The largest leading number of the folder's saved messages (`00042-<id>.eml`), or 0."""
    numbers = (name.partition("-")[0] for name in (p.name for p in folder.glob("*.eml")))
    return max((int(number) for number in numbers if number.isdigit()), default=0)


@dataclass
class MailCatcher:
    folder: Path
    port: int = field(default_factory=free_port)
    refused: set[str] = field(default_factory=set)
    """Words (e.g. a case reference) whose messages are refused for good, as a mail server
    refuses a message it will never take: for tests of a delivery that fails."""
    _controller: Controller | None = None
    _handler: _SaveToFolder | None = None

    @property
    def repeats(self) -> int:
        """Messages received again with a Message-ID already held (kept once)."""
        return self._handler.repeats if self._handler else 0

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # Started again (an outage in a test): the same handler, its counts carry on.
        self._handler = self._handler or _SaveToFolder(self.folder, self.refused)
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
