"""The bench's own SMTP server: it keeps only when each message arrived, to whom, and its
subject (enough to match an email to its audit by the case reference the subject carries)."""

import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller

from tooling.localstack.processes import free_port


@dataclass(frozen=True)
class Arrival:
    at: float
    """time.monotonic() when the server answered 250."""
    to: tuple[str, ...]
    subject: str


class _Recorder:
    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        headers = BytesHeaderParser(policy=default).parsebytes(envelope.content)
        arrival = Arrival(
            time.monotonic(), tuple(envelope.rcpt_tos), str(headers.get("Subject", ""))
        )
        with self.lock:
            self.arrivals.append(arrival)
        return "250 Message accepted for delivery"


@dataclass
class Mailbox:
    port: int = field(default_factory=free_port)
    _recorder: _Recorder = field(default_factory=_Recorder)
    _controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self._recorder, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def count(self) -> int:
        with self._recorder.lock:
            return len(self._recorder.arrivals)

    def since(self, start: int) -> list[Arrival]:
        """The arrivals after the first `start` ones."""
        with self._recorder.lock:
            return self._recorder.arrivals[start:]
