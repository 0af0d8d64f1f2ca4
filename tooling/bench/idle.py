"""Idle CPU: with nothing to do, each service's CPU time (utime + stime of its process and any
children, from /proc) over wall time, in % of one core."""

import asyncio
import os
import time
from pathlib import Path

from tooling.bench.figures import Figure
from tooling.bench.measures import cpu_percent

TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (2nd field) is in parentheses and may hold spaces: split after it.
    return text[text.rindex(")") + 2 :].split()


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, as they are now."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += parents.get(current, [])
    return tree


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and its descendants so far."""
    total = 0
    for member in process_tree(pid):
        fields = _stat_fields(member)
        if fields:  # fields[11], [12]: utime and stime, 14th and 15th of the whole line
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


async def idle_cpu(pids: dict[str, int], seconds: float) -> list[Figure]:
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    await asyncio.sleep(seconds)
    wall = time.monotonic() - started
    return [
        Figure(f"{name}_idle_cpu_pct", cpu_percent(cpu_seconds(pid) - before[name], wall), "%")
        for name, pid in pids.items()
    ]
