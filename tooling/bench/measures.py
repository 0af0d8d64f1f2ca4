"""Pure arithmetic over measurements: rates, ratios, percentiles, CPU share."""

import math
from collections.abc import Sequence


def per_second(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else math.nan


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline > 0 else math.nan


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def latencies_ms(
    answered: dict[str, float], arrived: dict[str, float], deadline_seconds: float
) -> tuple[list[float], int]:
    """Each audit's answer-to-arrival time in ms; one never arrived (or too late) counts as the
    deadline. Returns the latencies and how many hit the deadline."""
    found = []
    missed = 0
    for key, start in answered.items():
        took = arrived[key] - start if key in arrived else math.inf
        if took > deadline_seconds:
            missed += 1
            took = deadline_seconds
        found.append(max(took, 0.0) * 1000)
    return found, missed


def cpu_percent(cpu_seconds: float, wall_seconds: float) -> float:
    """CPU time over wall time, in % of one core."""
    return 100 * cpu_seconds / wall_seconds if wall_seconds > 0 else math.nan
