"""The bench's own SMTP server: it keeps only when each message arrived, to whom, and its
subject (enough to match an email to its audit by the case reference the subject carries).

It runs in a process of its own (`python -m tooling.bench.mailbox PORT`), not in a thread of
the bench: a thread would answer each SMTP command only when it got the bench's GIL, which
the bench's load generator holds for up to the interpreter's 5 ms switch interval at a time.
Measured, one connection went from about 800 messages/s to 40 while one other thread of the
process was busy, so the email figures timed the bench, not the service. The server prints
one JSON line per message to its stdout, which a thread of the bench reads.
"""

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import default
from pathlib import Path
from typing import IO, Any

from aiosmtpd.controller import Controller

from tooling.localstack.processes import free_port

READY = "ready"
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Arrival:
    at: float
    """time.monotonic() when the server answered 250: the clock is the system's, the same in
    every process, so it compares with the bench's own."""
    to: tuple[str, ...]
    subject: str


class _Printer:
    """The server side: each message, as it is accepted, one JSON line on stdout."""

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        headers = BytesHeaderParser(policy=default).parsebytes(envelope.content)
        line = {
            "at": time.monotonic(),
            "to": list(envelope.rcpt_tos),
            "subject": str(headers.get("Subject", "")),
        }
        print(json.dumps(line), flush=True)
        return "250 Message accepted for delivery"


def serve(port: int) -> None:
    """Accept mail on `port` until stdin closes (the bench stopping or dying)."""
    controller = Controller(_Printer(), hostname="127.0.0.1", port=port)
    controller.start()
    print(READY, flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


@dataclass
class Mailbox:
    port: int = field(default_factory=free_port)
    arrivals: list[Arrival] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: "subprocess.Popen[str] | None" = None
    _reader: threading.Thread | None = None

    def start(self) -> None:
        server = subprocess.Popen(
            [sys.executable, "-m", "tooling.bench.mailbox", str(self.port)],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._server = server
        assert server.stdout is not None
        first = server.stdout.readline().strip()
        if first != READY:
            self.stop()
            raise RuntimeError(f"the bench's SMTP server did not start (said {first!r})")
        self._reader = threading.Thread(
            target=self._read, args=(server.stdout,), name="mailbox", daemon=True
        )
        self._reader.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        if server.stdin is not None:
            server.stdin.close()  # the server's signal to stop
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if self._reader is not None:
            self._reader.join(timeout=10)

    def count(self) -> int:
        with self._lock:
            return len(self.arrivals)

    def since(self, start: int) -> list[Arrival]:
        """The arrivals after the first `start` ones."""
        with self._lock:
            return self.arrivals[start:]

    def _read(self, lines: IO[str]) -> None:
        for line in lines:
            data = json.loads(line)
            arrival = Arrival(float(data["at"]), tuple(data["to"]), str(data["subject"]))
            with self._lock:
                self.arrivals.append(arrival)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
