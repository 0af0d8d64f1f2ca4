"""How big and how long each measurement is: quick (CI, under 3 minutes on two cores) or full."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    raw_relay_events: int
    durable_relay_events: int
    service_events: int
    """Events given to each consuming service at once for its throughput."""
    rates: tuple[int, ...]
    """Audits per second posted for the end-to-end latencies."""
    load_seconds: float
    """How long each rate is held."""
    deadline_seconds: float
    """An audit whose event or email has not arrived this long after its POST counts as this."""
    idle_seconds: float
    history_sizes: tuple[int, ...]
    service_deadline_seconds: float = 120
    """Give up on a service's throughput run after this long (the figure is then what it did)."""


QUICK = Plan(
    raw_relay_events=2000,
    durable_relay_events=1000,
    # Enough for a service's steady pace: with 300 the first batches' start-up (statements
    # compiled, connections opened) was most of the figure.
    service_events=1000,
    rates=(5, 20),
    load_seconds=3,
    deadline_seconds=30,
    idle_seconds=5,
    history_sizes=(1000, 10000),
)
FULL = Plan(
    raw_relay_events=20000,
    durable_relay_events=5000,
    service_events=2000,
    rates=(5, 20, 50, 100),
    load_seconds=10,
    deadline_seconds=120,
    idle_seconds=15,
    history_sizes=(1000, 100000, 1000000),
    service_deadline_seconds=300,
)
