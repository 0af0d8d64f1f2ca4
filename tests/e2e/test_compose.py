"""End-to-end: docker-compose.yml as shipped, under a real container engine (podman).

deploy/compose-check.sh builds the images (stand-ins for the public ones, the service image from
deploy/Dockerfile), brings the stack up with only the image names overridden, records an
Inadequate audit through the published web front, finds its email at the mail catcher, checks
Prometheus scrapes every service, and brings everything down. Skipped only where no container
engine can exist: under CI=true a machine that could install podman but has none fails.
"""

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.conftest import USED
from tooling.compose_check import (
    PROJECT,
    engine_config,
    jobs_not_up,
    next_to_start,
    summary,
    wanted_services,
)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "compose-check.sh"
PACKAGES = "podman runc mmdebstrap maven"


def podman_installable() -> bool:
    """Debian's podman could be installed here (apt knows it, and we are root to run it)."""
    if shutil.which("apt-cache") is None or os.geteuid() != 0:
        return False
    found = subprocess.run(
        ["apt-cache", "show", "podman"], capture_output=True, timeout=60, check=False
    )
    return found.returncode == 0


def needed() -> list[str]:
    return [tool for tool in ("podman", "runc", "mmdebstrap", "mvn") if shutil.which(tool) is None]


def project_left() -> list[str]:
    label = f"label=io.podman.compose.project={PROJECT}"
    left = []
    for command in (["ps", "-aq"], ["volume", "ls", "-q"], ["network", "ls", "-q"]):
        listed = subprocess.run(
            ["podman", *command, "--filter", label], capture_output=True, text=True, check=False
        )
        left += listed.stdout.split()
    return left


@pytest.mark.timeout(900)
def test_the_compose_stack_comes_up_passes_the_journey_and_comes_down() -> None:
    missing = needed()
    if missing:
        reason = (
            f"no container engine here: {', '.join(missing)} missing (apt-get install {PACKAGES})"
        )
        if os.environ.get("CI") == "true" and podman_installable():
            pytest.fail(f"{reason} (CI requires it where podman is installable)", pytrace=False)
        pytest.skip(reason)
    if os.geteuid() != 0:
        pytest.skip("the compose check runs podman as root (containers.conf, bridge networks)")
    result = subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=880, check=False
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("compose:")]
    assert result.returncode == 0, result.stderr[-6000:]
    assert len(lines) == 1, result.stdout
    USED["compose"] = lines[0]
    assert "FAILED" not in lines[0]
    assert project_left() == []  # nothing of the stack is left behind


# --- the check's own decisions (no engine needed) ---------------------------------------------


def test_the_engine_settings_are_written_once_and_the_owners_kept() -> None:
    fresh = engine_config(None)
    assert fresh is not None
    assert tomllib.loads(fresh) == {
        "containers": {"default_ulimits": []},
        "engine": {"runtime": "runc", "cgroup_manager": "cgroupfs"},
    }
    assert engine_config(fresh) is None  # a second run changes nothing
    owners = '[engine]\nruntime = "crun"\n\n[network]\nnetwork_backend = "netavark"\n'
    merged = engine_config(owners)
    assert merged is not None
    assert tomllib.loads(merged) == {
        "engine": {"runtime": "crun", "cgroup_manager": "cgroupfs"},
        "network": {"network_backend": "netavark"},
        "containers": {"default_ulimits": []},
    }
    assert engine_config(merged) is None


def test_each_service_starts_once_what_it_depends_on_is_ready() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = wanted_services(compose, {"dev"})
    assert "grafana" not in services
    assert {"mailpit", "auth-keys"} <= set(services)
    first = next_to_start(compose, services, set(), set())
    assert set(first) == {"kafka", "postgres", "auth-keys", "mailpit"}
    ready = {"postgres"}  # the migrations need only PostgreSQL, not Kafka too
    assert set(next_to_start(compose, services, set(first), ready)) == {
        f"{name}-migrate" for name in ("audit", "moderation", "scheduler", "notifications")
    }
    everything_but_web = set(services) - {"web", "prometheus"}
    assert next_to_start(compose, services, everything_but_web, everything_but_web) == [
        "web",
        "prometheus",
    ]


def test_prometheus_jobs_not_up_are_named() -> None:
    targets = {
        "data": {
            "activeTargets": [
                {"labels": {"job": "audit"}, "health": "up"},
                {"labels": {"job": "moderation"}, "health": "down"},
            ]
        }
    }
    assert jobs_not_up(targets, {"audit", "moderation", "scheduler"}) == ["moderation", "scheduler"]
    assert summary({"build": 61.2, "up": 80.6}) == "compose: build 61s up 81s journey 0s down 0s"
