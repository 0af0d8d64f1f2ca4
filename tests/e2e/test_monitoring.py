"""End-to-end monitoring: the real Prometheus server scrapes the running services.

Prometheus (Debian's package) runs with the committed alert rules, unmodified, and the
committed scrape configuration with only the targets' addresses swapped for the services' real
ports. Every target must be up, every dashboard and alert query must run, and a reflective
conversation made overdue must make its alert fire.
"""

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from services.catalogue import FRONT, SERVICE_NAMES
from tests.e2e.conftest import System, wait_for
from tooling.localstack.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
AUDITOR, PRACTITIONER = "S0003", "S0006"  # Early Help North, as in test_system
DOMAINS = ("assessment", "planning", "visits", "voice_of_child", "management_oversight")
DOMAINS += ("recording",)
JOBS = (*SERVICE_NAMES, FRONT.name)
"""What the committed configuration scrapes besides Prometheus itself."""


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def api(self, path: str, **params: str) -> dict | list:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = response.json()
        assert body["status"] == "success", (path, params, body)
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        data = self.api("query", query=expr)
        assert isinstance(data, dict)
        return data["result"]

    def firing(self, alertname: str) -> list[dict]:
        data = self.api("alerts")
        assert isinstance(data, dict)
        return [
            alert
            for alert in data["alerts"]
            if alert["labels"]["alertname"] == alertname and alert["state"] == "firing"
        ]


def prometheus_binary() -> str:
    path = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(path).exists():
        reason = "the Prometheus server is not installed (Debian package prometheus)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI requires it)", pytrace=False)
        pytest.skip(reason)
    return path


def scrape_config(system: System, port: int) -> dict:
    """The committed configuration, scraping every second the services' real addresses."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(PROMETHEUS_DIR / rules) for rules in config["rule_files"]]
    for job in config["scrape_configs"]:
        name = job["job_name"]
        if name in SERVICE_NAMES:
            ports = [p.port for n, p in system.services.items() if n.split("-")[0] == name]
        elif name == FRONT.name:
            assert system.web is not None
            ports = [system.web.port]
        else:
            assert name == "prometheus", f"a job the test does not know: {name}"
            ports = [port]
        targets = [f"127.0.0.1:{p}" for p in ports]
        job["static_configs"] = [{"targets": targets}]
    return config


@pytest.fixture(scope="module")
def prometheus(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = prometheus_binary()
    folder = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    (folder / "prometheus.yml").write_text(yaml.safe_dump(scrape_config(system, port)))
    log = (folder / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        wait_for(lambda: _ready(server, process, folder), "Prometheus to be ready", timeout=60)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _ready(server: Prometheus, process: subprocess.Popen[bytes], folder: Path) -> bool:
    if process.poll() is not None:
        log = (folder / "prometheus.log").read_text(errors="replace")
        raise AssertionError(f"Prometheus exited with {process.returncode}:\n{log[-3000:]}")
    return httpx.get(f"{server.url}/-/ready", timeout=2).status_code == 200


def test_prometheus_scrapes_every_service_and_every_monitoring_query_runs(system, prometheus):
    def targets_up() -> dict[str, str] | None:
        data = prometheus.api("targets")
        assert isinstance(data, dict)
        health = {t["labels"]["job"]: t["health"] for t in data["activeTargets"]}
        return health if all(health.get(s) == "up" for s in JOBS) else None

    health = wait_for(targets_up, "every service's and the web front's target up", timeout=60)
    assert set(JOBS) <= set(health)  # type: ignore[arg-type]

    # Every service's consumers report their lag (shared.lag, started by the runtime).
    lagging = wait_for(
        lambda: (
            {
                series["metric"]["job"]
                for series in prometheus.query("qa_consumer_lag")
                if series["metric"]["consumer"].startswith("qa-")
            }
            >= set(SERVICE_NAMES)
        ),
        "qa_consumer_lag from every service",
        timeout=60,
    )
    assert lagging

    # What Grafana and the rules will ask, asked of the real server over the real series.
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
    queries = [rule["expr"] for group in rules for rule in group["rules"]]
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            queries += [t["expr"].replace("$__interval", "30d") for t in panel["targets"]]
    for expr in queries:
        prometheus.query(expr)  # fails on status "error"
    assert prometheus.query('max(qa_learning_audits_monthly_target{job="audit"})')


def test_an_overdue_reflective_conversation_makes_its_alert_fire(system, prometheus):
    def overdue_in_early_help() -> float:
        alerts = [
            a
            for a in prometheus.firing("ReflectiveConversationOverdue")
            if a["labels"]["service_area"] == "early_help"
        ]
        return max((float(a["value"]) for a in alerts), default=0.0)

    wait_for(
        lambda: prometheus.query('qa_followups_overdue{job="scheduler"}'),
        "the scheduler's overdue gauge scraped",
        timeout=60,
    )
    time.sleep(2)  # a rule evaluation over what was just scraped
    before = overdue_in_early_help()

    # Graded three weeks ago: the conversation was due on the fifth working day after, so the
    # follow-up the scheduler opens is already overdue.
    case = f"CASE-E2E-{uuid.uuid4().hex[:8]}"
    three_weeks_ago = datetime.now(UTC) - timedelta(days=21)
    response = system.post(
        "audit",
        "/audits",
        {
            "case_id": case,
            "audit_kind": "learning",
            "auditor_id": AUDITOR,
            "team_id": "EH-NORTH",
            "practitioner_id": PRACTITIONER,
            "domain_grades": dict.fromkeys(DOMAINS, "inadequate"),
            "overall_grade": "inadequate",
            "voice_of_child": {"evidenced": False, "note": "Wishes and feelings not recorded"},
            "could_be_better_if": ["Visits record what the child said"],
            "themes": ["visits"],
            "graded_at": three_weeks_ago.isoformat(),
        },
        as_=AUDITOR,
        **{"Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text

    followup = wait_for(
        lambda: next(
            (
                f
                for f in system.get("scheduler", "/followups", as_=AUDITOR, limit=500).json()
                if f["case_id"] == case
            ),
            None,
        ),
        f"the follow-up of {case}",
    )
    assert followup["due_on"] < datetime.now(UTC).date().isoformat()  # type: ignore[index]

    wait_for(
        lambda: overdue_in_early_help() >= before + 1,
        "ReflectiveConversationOverdue firing for early_help with one more item",
        timeout=90,
    )
    [alert] = [
        a
        for a in prometheus.firing("ReflectiveConversationOverdue")
        if a["labels"]["service_area"] == "early_help"
    ]
    assert alert["labels"]["step"] == "reflective_conversation"
    assert alert["labels"]["severity"] == "warning"
    assert "early_help" in alert["annotations"]["summary"]


# A route with an id in its path on each service: asked for a record that is not there.
TEMPLATED = {
    "audit": ("/audits/{audit_id}", "/audits/AUD-{marker}"),
    "moderation": ("/moderations/{moderation_id}", "/moderations/MOD-{marker}"),
    "scheduler": ("/followups/{followup_id}", "/followups/FU-{marker}"),
    "notifications": ("/inbox/{staff_id}", "/inbox/S-{marker}"),
}


def test_prometheus_has_every_services_requests_by_route_template_never_by_raw_path(
    system, prometheus
):
    marker = f"E2E{uuid.uuid4().hex[:8]}"
    assert set(TEMPLATED) == set(SERVICE_NAMES)
    for service, (_, path) in TEMPLATED.items():
        assert system.get(service, path.format(marker=marker), as_=AUDITOR).status_code < 500
        assert system.get(service, f"/no-such-page/{marker}", as_=AUDITOR).status_code == 404
    assert system.web is not None
    assert httpx.get(f"{system.web.url}/sign-in", timeout=10).status_code == 200
    assert httpx.get(f"{system.web.url}/no-such-page/{marker}", timeout=10).status_code == 404

    def templates_scraped() -> list[dict] | None:
        series = prometheus.query("http_requests_total")
        seen = {(s["metric"]["job"], s["metric"]["handler"]) for s in series}
        wanted = {(service, template) for service, (template, _) in TEMPLATED.items()}
        wanted |= {(FRONT.name, "/sign-in")}
        wanted |= {(job, "none") for job in JOBS}
        return series if wanted <= seen else None

    series = wait_for(templates_scraped, "every service's requests by route template", timeout=60)
    handlers = {s["metric"]["handler"] for s in series}  # type: ignore[union-attr]
    assert not any(marker in handler for handler in handlers), handlers
    assert not handlers & {"/health", "/ready", "/metrics"}  # probes and scrapes not counted
    assert {s["metric"]["status"] for s in series} <= {"2xx", "3xx", "4xx", "5xx"}  # type: ignore[union-attr]

    # What the dashboard's latency panel asks, answered for every service once rate() has
    # two scrapes of the new series.
    p95 = (
        "histogram_quantile(0.95, sum by (job, handler, le) "
        "(rate(http_request_duration_seconds_bucket[5m])))"
    )
    answered = wait_for(
        lambda: {s["metric"]["job"] for s in prometheus.query(p95)} >= set(JOBS),
        "the p95 latency of every service and the web front",
        timeout=30,
    )
    assert answered
