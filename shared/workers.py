"""The one loop every background worker runs in: do a step, wait, repeat until stopped.

A step returns whether more work is waiting right now (a full batch, say): then it runs again
at once instead of waiting. A failing step is logged and tried again after the wait, so one bad
pass never stops the worker. Blocking steps (database work) run in a thread, off the event loop.
`ServiceRuntime.every` starts workers for the life of the service.
"""

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[bool]] | Callable[[], bool]


@dataclass(frozen=True)
class Worker:
    name: str
    every_seconds: float
    step: Step

    async def run_once(self) -> bool:
        """One step; True when more work is waiting."""
        if inspect.iscoroutinefunction(self.step):
            return bool(await self.step())
        return bool(await asyncio.to_thread(self.step))

    async def run(self, stop: asyncio.Event) -> None:
        """Repeat the step until `stop` is set."""
        while not stop.is_set():
            try:
                more = await self.run_once()
            except Exception:
                log.exception("background step failed; will retry", extra={"worker": self.name})
                more = False
            if not more:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.every_seconds)
