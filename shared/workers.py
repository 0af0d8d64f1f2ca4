"""The one loop every background worker runs in: do a step, wait, repeat until stopped.

A step returns whether more work is waiting right now (a full batch, say): then it runs again
at once instead of waiting. It may instead return the seconds until it next has work (the next
timer falls due in 42 s): then the worker waits no longer than that. A worker `wake_on` a
channel (shared.wakeup) is woken as soon as a transaction commits work for it, so its period is
only a safety net. A failing step is tried again after the wait, so one bad pass never stops
the worker. A failure that shows a dependency away (the database, the broker) is reported to
shared.dependency_state, which logs the outage once for the whole process; any other failure is
logged with its traceback the first time, then briefly at a falling rate while it goes on, so
a step failing every second does not write a traceback every second. Blocking steps (database
work) run in a thread, off the event loop.
`ServiceRuntime.every` starts workers for the life of the service.
"""

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from shared.dependency_state import Run, report_failure
from shared.wakeup import WAKEUPS

log = logging.getLogger(__name__)

StepResult = bool | float
Step = Callable[[], Awaitable[StepResult]] | Callable[[], StepResult]


def seconds_to_wait(result: StepResult, every_seconds: float) -> float:
    """How long to wait after a step that returned `result` (0: run again at once)."""
    if result is True:
        return 0.0
    if result is False:
        return every_seconds
    return min(max(float(result), 0.0), every_seconds)


@dataclass(frozen=True)
class Worker:
    name: str
    every_seconds: float
    step: Step
    wake_on: str | None = None

    async def run_once(self) -> StepResult:
        """One step; True when more work is waiting, or the seconds until there is."""
        if inspect.iscoroutinefunction(self.step):
            return await self.step()  # type: ignore[no-any-return]
        return await asyncio.to_thread(self.step)  # type: ignore[arg-type]

    async def run(self, stop: asyncio.Event) -> None:
        """Repeat the step until `stop` is set."""
        channel = self.wake_on or f"worker:{self.name}"  # a channel nobody wakes: a plain poll
        failing: Run | None = None
        while not stop.is_set():
            seen = WAKEUPS.count(channel)
            try:
                result = await self.run_once()
            except Exception as exc:  # noqa: BLE001 (one bad pass must not stop the worker)
                failing = self._failed(exc, failing)
                result = False
            else:
                if failing is not None:
                    log.warning("background step works again", extra={"worker": self.name})
                failing = None
            wait = seconds_to_wait(result, self.every_seconds)
            if wait > 0:
                await WAKEUPS.wait(channel, seen, wait, stop)

    def _failed(self, error: Exception, failing: Run | None) -> Run | None:
        """Log (or report) a failed step; returns the run of failures it belongs to."""
        if report_failure(error):
            return failing  # the dependency's state tells the outage, once for the process
        now = time.monotonic()
        if failing is None:
            log.exception("background step failed; will retry", extra={"worker": self.name})
            return Run(now)
        if failing.reminder_due(now):
            log.error(
                "background step still failing; will retry",
                extra={
                    "worker": self.name,
                    "error": type(error).__name__,
                    "seconds_failing": round(now - failing.since),
                },
            )
        return failing
