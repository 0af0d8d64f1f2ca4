"""The deployment files, proved as far as a machine without a container engine can.

docker-compose.yml validates against the Compose Specification schema and names only real
settings, ports and databases; Prometheus's own promtool checks the scrape configuration and
the alert rules and runs their unit tests; every dashboard and alert queries only metrics the
services really export. (tests/e2e/test_monitoring.py runs the real Prometheus server against
the running services.)
"""

import importlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from prometheus_client import REGISTRY

from services.catalogue import SERVICE_NAMES
from shared.settings import ServiceSettings
from tooling.localstack.kafka import KAFKA_VERSION

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
COMPOSE_SCHEMA = json.loads((ROOT / "tests" / "data" / "compose_spec.json").read_text())
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
PROMETHEUS_CONFIG = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
ALERT_RULES = [
    rule
    for group in yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
    for rule in group["rules"]
]
ALERT_TESTS = sorted(PROMETHEUS_DIR.glob("*_test.yml"))
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
MONITORED = set(SERVICE_NAMES)


# --- docker-compose.yml ---------------------------------------------------------------------


def compose_validator() -> jsonschema.Draft201909Validator:
    return jsonschema.Draft201909Validator(
        COMPOSE_SCHEMA, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER
    )


def test_compose_file_validates_against_the_compose_specification():
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in compose_validator().iter_errors(COMPOSE)
    ]
    assert errors == []


def test_the_compose_schema_refuses_what_compose_would_refuse():
    """The validation above has teeth: a misspelt key or a wrong type is an error."""
    misspelt = {**COMPOSE, "services": {**COMPOSE["services"], "x": {"imgae": "python"}}}
    wrong_type = {**COMPOSE, "services": {"x": {"image": "python", "ports": "8001:8001"}}}
    assert not compose_validator().is_valid(misspelt)
    assert not compose_validator().is_valid(wrong_type)


def test_compose_runs_the_same_apache_kafka_as_the_local_stack():
    assert COMPOSE["services"]["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"
    assert COMPOSE["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_compose_postgresql_creates_a_database_for_every_service():
    postgres = COMPOSE["services"]["postgres"]
    init = next(v for v in postgres["volumes"] if "init.sql" in v).split(":")[0]
    sql = (ROOT / init).read_text()
    for service in SERVICE_NAMES:
        assert f"CREATE DATABASE {service};" in sql


def one_shot_jobs() -> set[str]:
    """Services others wait on to finish (not to be healthy): they run once and exit."""
    return {
        name
        for service in COMPOSE["services"].values()
        if isinstance(service.get("depends_on"), dict)
        for name, how in service["depends_on"].items()
        if how.get("condition") == "service_completed_successfully"
    }


def test_every_long_running_compose_service_has_a_healthcheck():
    assert one_shot_jobs() == {"topics", "auth-keys"}
    for name, service in COMPOSE["services"].items():
        if name not in one_shot_jobs():
            assert "healthcheck" in service, name


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    return next(
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value is not ServiceSettings
    )


@pytest.mark.parametrize("service", sorted(MONITORED))
def test_each_service_runs_from_the_one_image_with_its_own_command(service):
    spec = COMPOSE["services"][service]
    assert spec["command"] == ["python", "-m", f"services.{service}"]
    assert (ROOT / "services" / service / "__main__.py").exists()
    assert spec["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    images = {COMPOSE["services"][s]["image"] for s in (*MONITORED, *one_shot_jobs())}
    assert images == {spec["image"]}


@pytest.mark.parametrize("service", sorted(MONITORED))
def test_each_service_is_configured_with_settings_it_really_reads(service):
    environment = COMPOSE["services"][service]["environment"]
    fields = settings_class(service).model_fields
    assert [v for v in environment if v.lower() not in fields] == []
    assert environment["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert "PLAINTEXT://kafka:9092" in COMPOSE["services"]["kafka"]["environment"][
        "KAFKA_ADVERTISED_LISTENERS"
    ].split(",")
    assert environment["DATABASE_URL"].startswith("postgresql://qa:qa-local-only@postgres:5432/")
    assert environment["DATABASE_URL"].rsplit("/", 1)[1] == service
    port = environment["HTTP_PORT"]
    assert COMPOSE["services"][service]["ports"] == [f"{port}:{port}"]


def test_services_trust_the_keys_the_auth_keys_job_makes():
    job = COMPOSE["services"]["auth-keys"]
    folder = job["volumes"][0].split(":")[1]
    assert f"LocalIssuer(Path('{folder}')).ensure()" in job["command"][-1]
    assert job["environment"]["QA_STACK_DIR"] + "/auth" == folder  # where `qa token` looks
    for service in MONITORED:
        spec = COMPOSE["services"][service]
        assert spec["environment"]["AUTH_JWKS_FILE"] == f"{folder}/jwks.json"
        assert f"auth-keys:{folder}:ro" in spec["volumes"]
        assert spec["depends_on"]["auth-keys"] == {"condition": "service_completed_successfully"}


def test_notifications_send_their_email_to_the_compose_mail_catcher():
    environment = COMPOSE["services"]["notifications"]["environment"]
    assert environment["SMTP_HOST"] == "mailpit"
    assert COMPOSE["services"]["mailpit"]["image"].startswith("axllent/mailpit:")
    assert environment["SMTP_PORT"] == 1025  # mailpit's SMTP port
    assert "mailpit" in COMPOSE["services"]["notifications"]["depends_on"]


# --- the web front ---------------------------------------------------------------------------

VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolated(value: object, variables: dict[str, str]) -> str:
    """`value` as compose interpolates it from `variables` (${X}, ${X:-d}, ${X-d}, ${X:?m})."""

    def one(found: re.Match[str]) -> str:
        name, how, word = found[1], found[2], found[3]
        given = variables.get(name)
        unset = given is None or (given == "" and how is not None and how.startswith(":"))
        if how in (":?", "?") and unset:
            raise KeyError(f"required variable {name} is missing a value: {word}")
        if how in (":-", "-") and unset:
            return word
        return given or ""

    return VARIABLE.sub(one, str(value))


PRODUCTION = {
    "SESSION_SECRET": "a-long-random-string-for-this-test",
    "OIDC_ISSUER_URL": "https://login.council.example/v2.0",
    "OIDC_CLIENT_ID": "qa-platform",
    "OIDC_CLIENT_SECRET": "from-the-identity-provider",
    "LOCAL_SIGNIN_KEY_DIR": "",
}
"""What an operator sets for production sign-in (in a .env file or the environment)."""


def web_environment(variables: dict[str, str]) -> dict[str, str]:
    return {
        name: interpolated(value, variables)
        for name, value in COMPOSE["services"]["web"]["environment"].items()
    }


def test_the_web_front_runs_from_the_one_image_with_settings_it_really_reads():
    from services.web.settings import WebSettings

    spec = COMPOSE["services"]["web"]
    assert spec["command"] == ["python", "-m", "services.web"]
    assert (ROOT / "services" / "web" / "__main__.py").exists()
    assert (spec["image"], spec["build"]) == (
        COMPOSE["services"]["audit"]["image"],
        {"context": ".", "dockerfile": "deploy/Dockerfile"},
    )
    environment = spec["environment"]
    assert [v for v in environment if v.lower() not in WebSettings.model_fields] == []
    port = environment["HTTP_PORT"]
    assert port == WebSettings.model_fields["http_port"].default == 8005
    assert spec["ports"] == [f"{port}:{port}"]
    assert "healthcheck" in spec


def test_the_web_front_calls_each_service_where_compose_serves_it():
    environment = COMPOSE["services"]["web"]["environment"]
    for service in sorted(MONITORED):
        port = COMPOSE["services"][service]["environment"]["HTTP_PORT"]
        assert environment[f"{service.upper()}_API_URL"] == f"http://{service}:{port}"
        assert COMPOSE["services"]["web"]["depends_on"][service] == {"condition": "service_healthy"}


def test_the_session_secret_must_be_set_and_no_default_is_shipped():
    secret = COMPOSE["services"]["web"]["environment"]["SESSION_SECRET"]
    assert re.fullmatch(r"\$\{SESSION_SECRET:\?[^}]+\}", secret), secret
    with pytest.raises(KeyError, match="SESSION_SECRET"):
        web_environment({})
    with pytest.raises(KeyError, match="SESSION_SECRET"):
        web_environment({"SESSION_SECRET": ""})


def test_the_web_front_signs_in_locally_by_default_with_the_keys_the_services_trust():
    from services.web.settings import WebSettings

    folder = COMPOSE["services"]["auth-keys"]["volumes"][0].split(":")[1]
    spec = COMPOSE["services"]["web"]
    assert f"auth-keys:{folder}:ro" in spec["volumes"]
    assert spec["depends_on"]["auth-keys"] == {"condition": "service_completed_successfully"}
    environment = web_environment({"SESSION_SECRET": "a-long-random-string-for-this-test"})
    assert environment["LOCAL_SIGNIN_KEY_DIR"] == folder
    settings = WebSettings(**{name.lower(): value for name, value in environment.items()})
    assert settings.local_signin_key_dir == Path(folder)
    assert not settings.oidc_issuer_url
    assert settings.secure_cookies is True


def test_production_sign_in_is_openid_connect_from_variables():
    environment = COMPOSE["services"]["web"]["environment"]
    for name in ("OIDC_ISSUER_URL", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"):
        assert environment[name] == f"${{{name}:-}}", name
    production = web_environment(PRODUCTION)
    assert production["OIDC_ISSUER_URL"] == "https://login.council.example/v2.0"
    assert production["LOCAL_SIGNIN_KEY_DIR"] == ""


def test_the_web_front_starts_with_openid_connect_when_local_sign_in_is_emptied(monkeypatch):
    from services.web.settings import WebSettings

    production = web_environment(PRODUCTION)
    for name, value in production.items():
        monkeypatch.setenv(name, str(value))
    settings = WebSettings()  # type: ignore[call-arg]
    assert settings.oidc_issuer_url == "https://login.council.example/v2.0"
    assert settings.local_signin_key_dir is None


def test_email_links_open_the_web_front_at_its_public_address():
    record = COMPOSE["services"]["notifications"]["environment"]["RECORD_BASE_URL"]
    port = COMPOSE["services"]["web"]["environment"]["HTTP_PORT"]
    assert interpolated(record, {}) == f"http://localhost:{port}"
    assert COMPOSE["services"]["web"]["ports"] == [f"{port}:{port}"]
    public = "https://qa.council.example"
    assert interpolated(record, {"WEB_PUBLIC_URL": public}) == public


def test_the_interpolation_above_reads_variables_as_compose_does():
    assert interpolated("${A:-x}", {}) == "x"
    assert interpolated("${A:-x}", {"A": ""}) == "x"
    assert interpolated("${A-x}", {"A": ""}) == ""
    assert interpolated("${A-x}", {}) == "x"
    assert interpolated("a${A}b", {"A": "1"}) == "a1b"
    with pytest.raises(KeyError):
        interpolated("${A:?say}", {"A": ""})


def test_the_image_installs_the_package_as_a_non_root_user():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    every = [line.split(None, 1) for line in dockerfile.splitlines() if line[:1].isalpha()]
    stages = [i for i, (keyword, _) in enumerate(every) if keyword == "FROM"]
    assert every[stages[0]] == ["FROM", "node:20-slim AS web-assets"]  # the web front's assets
    instructions = every[stages[-1] :]  # the image itself
    assert instructions[0] == ["FROM", "python:3.11-slim"]
    assert ["COPY", "--from=web-assets /web/static ./services/web/static"] in instructions
    assert ["RUN", "pip install . && rm -rf /app"] in instructions
    users = [arg for keyword, arg in instructions if keyword == "USER"]
    assert users
    assert users[-1] not in {"root", "0"}
    ignored = [
        line for line in (ROOT / ".dockerignore").read_text().splitlines() if line[:1] != "#"
    ]
    assert ignored[0] == "*"  # everything is left out unless named below
    for keyword, arg in every:
        if keyword == "COPY" and not arg.startswith("--from="):
            for source in arg.split()[:-1]:
                assert (ROOT / source).exists(), source
                assert any(
                    f"!{part}/" in ignored or f"!{part}" in ignored
                    for part in (source.rstrip("/"), source.split("/")[0])
                ), source


# --- Prometheus -----------------------------------------------------------------------------


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        reason = "promtool is not installed (Debian package prometheus; .ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI requires it)", pytrace=False)
        pytest.skip(reason)
    return path


def run_promtool(*args: str) -> str:
    result = subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_promtool_accepts_the_prometheus_configuration():
    out = run_promtool("check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert "1 rule files found" in out


def test_promtool_accepts_the_alert_rules():
    out = run_promtool("check", "rules", str(PROMETHEUS_DIR / "alerts.yml"))
    assert f"{len(ALERT_RULES)} rules found" in out


def test_the_alert_rules_pass_their_promtool_unit_tests():
    out = run_promtool("test", "rules", *map(str, ALERT_TESTS))
    assert out.count("SUCCESS") == len(ALERT_TESTS)


def test_every_alert_is_unit_tested_both_firing_and_not_firing():
    firing, quiet = set(), set()
    for path in ALERT_TESTS:
        for group in yaml.safe_load(path.read_text())["tests"]:
            for case in group.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {rule["alert"] for rule in ALERT_RULES}
    assert names == {
        "ReflectiveConversationOverdue",
        "AuditVolumeBelowTargetPace",
        "DeadLettersPresent",
        "ConsumerLagHigh",
        "ServiceDown",
    }
    assert (firing, quiet) == (names, names)


def test_compose_runs_the_prometheus_version_that_promtool_checked():
    version = re.search(r"version (\d+\.\d+\.\d+)", run_promtool("--version"))
    assert version is not None
    assert COMPOSE["services"]["prometheus"]["image"] == f"prom/prometheus:v{version[1]}"


def test_prometheus_scrapes_every_service_where_compose_serves_it():
    jobs = {job["job_name"]: job for job in PROMETHEUS_CONFIG["scrape_configs"]}
    assert jobs.keys() >= MONITORED
    for service in MONITORED:
        port = COMPOSE["services"][service]["environment"]["HTTP_PORT"]
        assert jobs[service]["metrics_path"] == "/metrics"
        assert jobs[service]["static_configs"] == [{"targets": [f"{service}:{port}"]}]
    assert "./deploy/prometheus:/etc/prometheus:ro" in COMPOSE["services"]["prometheus"]["volumes"]
    assert (
        "--config.file=/etc/prometheus/prometheus.yml"
        in COMPOSE["services"]["prometheus"]["command"]
    )


# --- metric names ---------------------------------------------------------------------------

PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"}
PROMQL_WORDS |= {"and", "or", "unless", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, labels and keywords left out)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges and subqueries
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\$\w+", "", expr)  # Grafana's variables
    names = re.findall(r"(?<![\w.])([a-zA-Z_:][\w:]*)\b(?!\s*\()", expr)
    return {name for name in names if name.lower() not in PROMQL_WORDS}


def test_metric_names_are_read_from_promql_as_prometheus_would():
    expr = (
        'sum by (consumer, topic) (increase(qa_dead_letters_total{reason="x"}[1h])) > 0 or '
        "histogram_quantile(0.95, sum by (le) (rate(qa_handler_seconds_bucket[$__interval]))) "
        "unless up offset 1h * scalar(day_of_month() - 1) / 1e3"
    )
    assert metric_names(expr) == {"qa_dead_letters_total", "qa_handler_seconds_bucket", "up"}


def exported_metric_names() -> set[str]:
    """Every sample name the four services expose on /metrics, plus Prometheus's own `up`."""
    for module in ("shared.metrics", *(f"services.{s}.metrics" for s in MONITORED)):
        importlib.import_module(module)
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
        "info": ("_info",),
    }
    return {"up"} | {
        family.name + suffix
        for family in REGISTRY.collect()
        for suffix in suffixes.get(family.type, ("",))
    }


def dashboard_queries() -> dict[str, list[str]]:
    return {
        path.name: [
            target["expr"]
            for panel in json.loads(path.read_text())["panels"]
            for target in panel.get("targets", [])
        ]
        for path in DASHBOARDS
    }


def test_exported_metrics_include_every_kind_of_sample_name():
    exported = exported_metric_names()
    assert {"qa_consumer_lag", "qa_dead_letters_total", "qa_handler_seconds_bucket"} <= exported
    assert "qa_dead_letters" not in exported  # a counter is exposed only as _total


def test_every_alert_queries_only_metrics_the_services_export():
    exported = exported_metric_names()
    for rule in ALERT_RULES:
        used = metric_names(rule["expr"])
        assert used, rule["alert"]
        assert used <= exported, (rule["alert"], used - exported)


def test_every_dashboard_queries_only_metrics_the_services_export():
    exported = exported_metric_names()
    for name, queries in dashboard_queries().items():
        assert queries, name
        for expr in queries:
            used = metric_names(expr)
            assert used, (name, expr)
            assert used <= exported, (name, used - exported)


def test_every_dashboard_query_is_valid_promql(tmp_path):
    """promtool parses each query as a recording rule; Grafana's $__interval stands as 30d."""
    rules = [
        {"record": f"dashboard:query:{n}", "expr": expr.replace("$__interval", "30d")}
        for n, expr in enumerate(e for queries in dashboard_queries().values() for e in queries)
    ]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    assert f"{len(rules)} rules found" in run_promtool("check", "rules", str(path))


# --- Grafana --------------------------------------------------------------------------------


def test_dashboards_cover_what_the_platform_is_watched_for():
    used = {
        name
        for queries in dashboard_queries().values()
        for expr in queries
        for name in metric_names(expr)
    }
    assert {
        "qa_audits_graded_total",  # audit grades by month
        "qa_moderation_weighted_kappa",  # moderation consistency
        "qa_moderation_disagreements_total",
        "qa_reflective_conversations_on_time_ratio",  # follow-up timeliness
        "qa_followups_overdue",  # overdue items
        "qa_consumer_lag",
        "qa_dead_letters_total",
    } <= used


def test_dashboards_are_grafana_json_on_the_provisioned_datasource():
    datasources = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    uids = {source["uid"] for source in datasources}
    assert [s["url"] for s in datasources] == ["http://prometheus:9090"]
    seen_uids = set()
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] not in seen_uids
        seen_uids.add(dashboard["uid"])
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] in uids, (path.name, panel["title"])
            assert {"h", "w", "x", "y"} <= panel["gridPos"].keys()
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
    assert len(DASHBOARDS) >= 4


def test_grafana_loads_the_dashboards_from_where_compose_mounts_them():
    providers = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "qa-platform.yml").read_text()
    )["providers"]
    mounts = dict(v.split(":")[:2] for v in COMPOSE["services"]["grafana"]["volumes"])
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    assert [p["options"]["path"] for p in providers] == [mounts["./deploy/grafana/dashboards"]]
    home = COMPOSE["services"]["grafana"]["environment"][
        "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"
    ]
    assert (GRAFANA_DIR / "dashboards" / Path(home).name).exists()
