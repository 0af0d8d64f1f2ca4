"""`python -m tooling.bench [--full] [--out FILE]`: the benchmark of issue 19, in one run.

Starts its own stack under a temp folder (Apache Kafka, embedded PostgreSQL, an SMTP server of
its own), measures the baselines and the services side by side, prints each figure to stdout as
`bench: NAME VALUE UNIT` (and to FILE with --out), progress to stderr, and stops everything at
the end, even on failure.
"""

import argparse
import asyncio
import importlib
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from services.catalogue import BY_NAME, SERVICE_NAMES
from tooling.bench.baselines import durable_relay, raw_relay, warm_up
from tooling.bench.figures import Figure
from tooling.bench.idle import idle_cpu
from tooling.bench.kafka_io import move_group_to_end, wait_until_stable
from tooling.bench.latency import e2e_latency
from tooling.bench.plan import FULL, QUICK, Plan
from tooling.bench.stack import Bench, bench_stack
from tooling.bench.throughput import WORKLOADS, ratios, service_throughput

Emit = Callable[[Figure], None]
STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"[bench {time.monotonic() - STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


async def measure(bench: Bench, plan: Plan, emit: Emit) -> None:
    bootstrap = bench.stack.bootstrap_servers
    scratch = bench.scratch_database("bench_durable_relay")
    progress("warming the broker and database up (not measured)")
    await warm_up(bootstrap, scratch)
    progress(f"raw relay: {plan.raw_relay_events} events")
    raw = await raw_relay(bootstrap, plan.raw_relay_events)
    emit(raw)
    progress(f"durable relay: {plan.durable_relay_events} events")
    durable = await durable_relay(bootstrap, scratch, plan.durable_relay_events)
    emit(durable)
    for work in WORKLOADS:
        figure = await service_throughput(
            bench, work, plan.service_events, plan.service_deadline_seconds, progress
        )
        for each in (figure, *ratios(figure, raw, durable)):
            emit(each)
    await all_services_up(bench)
    progress("end to end: warming the services up (not measured)")
    await e2e_latency(bench, 2, 2, plan.deadline_seconds, progress)
    for rate in plan.rates:
        progress(f"end to end: {rate} audits/s for {plan.load_seconds:.0f}s")
        for each in await e2e_latency(
            bench, rate, plan.load_seconds, plan.deadline_seconds, progress
        ):
            emit(each)
    progress(f"idle CPU over {plan.idle_seconds:.0f}s")
    await asyncio.sleep(2)  # let the last deliveries and relays settle first
    pids = {name: bench.pid_of(name) for name in SERVICE_NAMES}
    for each in await idle_cpu(pids, plan.idle_seconds):
        emit(each)


async def all_services_up(bench: Bench) -> None:
    """The four services on the stack's own (empty) databases, each group starting at the end
    of its topics: the throughput runs' events are not their work."""
    for name in SERVICE_NAMES:
        await move_group_to_end(
            bench.stack.bootstrap_servers, bench.group_of(name), BY_NAME[name].consumes
        )
    progress("end to end: starting the four services")
    await asyncio.to_thread(bench.start, list(SERVICE_NAMES))
    for name in SERVICE_NAMES:
        await wait_until_stable(bench.stack.bootstrap_servers, bench.group_of(name))


def history(bench: Bench, plan: Plan) -> Iterable[Figure]:
    """The other half of the figures (tooling/bench/history.py), when it exists."""
    try:
        module = importlib.import_module("tooling.bench.history")
    except ModuleNotFoundError as missing:
        if missing.name != "tooling.bench.history":
            raise
        progress("history figures skipped: tooling/bench/history.py does not exist yet")
        return []
    bench.stop()  # it starts what it needs itself
    return module.history_figures(bench.stack, bench.logs, list(plan.history_sizes), progress)  # type: ignore[no-any-return]


def run(plan: Plan, outputs: list[TextIO]) -> None:
    def emit(figure: Figure) -> None:
        for output in outputs:
            print(figure.line(), file=output, flush=True)

    with bench_stack(progress) as bench:
        asyncio.run(measure(bench, plan, emit))
        for figure in history(bench, plan):
            emit(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="the long version (~15 minutes)")
    parser.add_argument("--out", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    plan = FULL if args.full else QUICK
    progress(f"{'full' if args.full else 'quick'} run")
    if args.out is None:
        run(plan, [sys.stdout])
        return 0
    with args.out.open("w") as out:
        run(plan, [sys.stdout, out])
    return 0


if __name__ == "__main__":
    sys.exit(main())
