"""Restarting one part of a running stack from another terminal, and noticing a part that died.

The `qa` process that started the stack owns its servers, so only it can restart one and keep
stopping them right afterwards. `qa stack restart kafka` therefore asks it: it writes the part's
name into the stack's control folder and sends SIGUSR1; the running `qa` restarts that part on
the same port and data folder (the services' settings stay valid) and writes back what it did.
"""

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, cast, get_args

from tooling.localstack.processes import StackError

Part = Literal["kafka", "postgres", "mail"]
PARTS: tuple[str, ...] = get_args(Part)
ANSWER_TIMEOUT_SECONDS = 120


def _folder(root: Path) -> Path:
    return root / "control"


def ask_to_restart(root: Path, stack_pid: int, part: Part) -> str:
    """Ask the `qa` running the stack under `root` to restart `part`; its answer, once done."""
    folder = _folder(root)
    folder.mkdir(parents=True, exist_ok=True)
    answer = folder / "answer"
    answer.unlink(missing_ok=True)
    (folder / "request").write_text(part)
    os.kill(stack_pid, signal.SIGUSR1)
    deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if answer.exists():
            return answer.read_text()
        time.sleep(0.2)
    raise StackError(f"the stack did not answer within {ANSWER_TIMEOUT_SECONDS}s")


class RestartRequests:
    """The running `qa`'s side: requests arrive by signal and are served from its main loop
    (a signal handler must not start servers itself)."""

    def __init__(self, root: Path) -> None:
        self._folder = _folder(root)
        self._asked = threading.Event()
        signal.signal(signal.SIGUSR1, lambda *_: self._asked.set())

    def serve(self, restart: Callable[[Part], str]) -> None:
        """Restart what was asked for, if anything, and answer; a failure is the answer too."""
        if not self._asked.is_set():
            return
        self._asked.clear()
        request = self._folder / "request"
        part = request.read_text().strip() if request.exists() else ""
        request.unlink(missing_ok=True)
        if part not in PARTS:
            answer = f"error: no part called {part!r}; the parts are {', '.join(PARTS)}"
        else:
            try:
                answer = restart(cast(Part, part))  # one of PARTS, checked above
            except StackError as exc:
                answer = f"error: {exc}"
        (self._folder / "answer").write_text(answer)


class Watch:
    """Says once when a part or a service stops, and once when it runs again."""

    def __init__(self, dead: Callable[[], list[str]]) -> None:
        self._dead = dead
        self._reported: set[str] = set()

    def news(self) -> list[str]:
        now = set(self._dead())
        lines = [_stopped(name) for name in sorted(now - self._reported)]
        lines += [f"{name} is running again" for name in sorted(self._reported - now)]
        self._reported = now
        return lines


def _stopped(name: str) -> str:
    if name in PARTS:
        return f"{name} has stopped: `qa stack restart {name}` starts it again"
    return f"the {name} service has stopped: its log is under the stack's logs folder"
