"""`qa run` seeds its demo months once per folder, says how far it got, and can be told not to."""

import re
from pathlib import Path

import httpx
import pytest

from shared.cli import build_parser
from tests.conftest import USED
from tests.integration.test_local_stack import qa, stack_env, start

DEMO_LINE = re.compile(
    r"^demo: +(\d+) audits over the last 4 months \((\d+) new, (\d+) already there.* in ([\d.]+)s$"
)


def run_once(env: dict[str, str], *args: str) -> list[str]:
    """`qa run` until it is up (demo seeded), then `qa stack down`; returns what it printed."""
    up, output = start(env, "run", *args)
    try:
        audit_url = next(line for line in output if line.startswith("audit: API ")).split()[2]
        assert httpx.get(f"{audit_url}/asyncapi.json", timeout=10).json()["asyncapi"] == "3.0.0"
    finally:
        assert qa("stack", "down", env=env).returncode == 0
        up.wait(timeout=60)
    return output


def demo_counts(output: list[str]) -> tuple[int, int, int]:
    [match] = [m for line in output if (m := DEMO_LINE.match(line))]
    total, new, there = (int(group) for group in match.groups()[:3])
    USED.setdefault("qa run demo", f"qa run: {total} demo audits seeded in {match.group(4)}s")
    return total, new, there


# Two whole `qa run`s (Kafka and four services each time) take longer than the default limit.
@pytest.mark.timeout(420)
def test_a_second_qa_run_in_the_same_folder_adds_no_demo_audits(server_root: Path):
    env = stack_env(server_root / "demo-stack")
    first = run_once(env)
    assert any(line.startswith("... Seeding demo audits: 50/") for line in first)
    total, new, there = demo_counts(first)
    assert (new, there) == (total, 0)
    assert 100 <= total <= 250
    assert demo_counts(run_once(env)) == (total, 0, total)


def test_no_demo_is_a_flag_of_qa_run_and_the_demo_is_on_by_default():
    assert build_parser().parse_args(["run"]).demo is True
    assert build_parser().parse_args(["run", "--no-demo"]).demo is False
