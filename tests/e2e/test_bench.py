"""The benchmark runs from the repository and prints every figure it promises: each name once,
each a finite number. No figure's value is asserted (this is a shared CI machine); the figures
are printed so the run's output shows them."""

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import USED

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("moderation", "scheduler", "notifications")
QUICK_RATES = (5, 20)
EXPECTED = (
    "raw_relay",
    "durable_relay",
    *(
        f"{s}_{what}"
        for s in SERVICES
        for what in ("throughput", "vs_raw_relay", "vs_durable_relay")
    ),
    *(
        f"e2e_{hop}_{p}_ms@{rate}"
        for rate in QUICK_RATES
        for hop in ("followup", "email")
        for p in ("p50", "p99")
    ),
    *(f"{s}_idle_cpu_pct" for s in ("audit", *SERVICES)),
)
FIGURE = re.compile(r"^bench: (\S+) (\S+) (\S+)$")


def figures_of(output: str) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for line in output.splitlines():
        if match := FIGURE.match(line):
            found.setdefault(match[1], []).append(float(match[2]))
    return found


@pytest.mark.timeout(400)
def test_the_quick_benchmark_prints_every_figure_once_as_a_finite_number(tmp_path: Path) -> None:
    out = tmp_path / "figures.txt"
    run = subprocess.run(
        [sys.executable, "-m", "tooling.bench", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=380,
        check=False,
    )
    print(run.stdout)
    USED["bench"] = "\n".join(line for line in run.stdout.splitlines() if line.startswith("bench:"))
    assert run.returncode == 0, run.stderr[-3000:]
    figures = figures_of(run.stdout)
    missing = [name for name in EXPECTED if name not in figures]
    assert not missing, f"not printed: {missing}"
    for name, values in figures.items():  # the history figures too, whatever their names
        assert len(values) == 1, f"{name} printed {len(values)} times"
        assert math.isfinite(values[0]), f"{name} = {values[0]}"
        if name.endswith("_idle_cpu_pct"):  # an idle service may use no measurable CPU at all
            assert values[0] >= 0, f"{name} = {values[0]}"
        else:
            assert values[0] > 0, f"{name} = {values[0]}"
    assert figures_of(out.read_text()) == figures, "--out writes the same figures"
