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
from sqlalchemy import make_url

from services.catalogue import SERVICE_NAMES
from services.catalogue import SERVICES as SERVICES_DECLARED
from shared.events.topics import dead_letter_topic
from shared.settings import ServiceSettings
from tooling.database_roles import app_grants
from tooling.kafka_acls import (
    Operation,
    Resource,
    acl_bindings,
    kafka_acls_commands,
    principals,
)
from tooling.localstack.kafka import KAFKA_VERSION
from tooling.secret_files import with_secrets_read

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
    "AUTH_JWKS_URL": "https://login.council.example/discovery/v2.0/keys",
    "AUTH_ISSUER": "https://login.council.example/v2.0",
    "CASE_MANAGEMENT_SOURCE": "/council/case-management",
    "SMTP_HOST": "smtp.council.example",
    "MAIL_FROM": "qa-platform@council.example",
}
"""What an operator sets for production (in a .env file or the environment)."""

SERVICES = COMPOSE["services"]
SECRET_FILE = "__FILE"  # tooling.secret_files reads NAME__FILE into NAME


def environment_of(name: str, variables: dict[str, str] = PRODUCTION) -> dict[str, str]:
    return {
        key: interpolated(value, variables) for key, value in SERVICES[name]["environment"].items()
    }


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
    misspelt = {**COMPOSE, "services": {**SERVICES, "x": {"imgae": "python"}}}
    wrong_type = {**COMPOSE, "services": {"x": {"image": "python", "ports": "8001:8001"}}}
    assert not compose_validator().is_valid(misspelt)
    assert not compose_validator().is_valid(wrong_type)


def test_the_interpolation_above_reads_variables_as_compose_does():
    assert interpolated("${A:-x}", {}) == "x"
    assert interpolated("${A:-x}", {"A": ""}) == "x"
    assert interpolated("${A-x}", {"A": ""}) == ""
    assert interpolated("${A-x}", {}) == "x"
    assert interpolated("a${A}b", {"A": "1"}) == "a1b"
    with pytest.raises(KeyError):
        interpolated("${A:?say}", {"A": ""})


OFFICIAL_IMAGES = {
    "kafka": ("KAFKA_IMAGE", f"apache/kafka:{KAFKA_VERSION}"),
    "postgres": ("POSTGRES_IMAGE", "postgres:18.1"),
    "mailpit": ("MAILPIT_IMAGE", "axllent/mailpit:v1.27.0"),
    "prometheus": ("PROMETHEUS_IMAGE", "prom/prometheus:v3.5.0"),
    "grafana": ("GRAFANA_IMAGE", "grafana/grafana:12.1.1"),
}


def test_each_third_party_image_comes_from_a_variable_whose_default_is_the_official_one():
    ours = {name for name, spec in SERVICES.items() if spec.get("image") == "qa-platform:local"}
    assert set(SERVICES) - ours == set(OFFICIAL_IMAGES)
    for name, (variable, official) in OFFICIAL_IMAGES.items():
        image = SERVICES[name]["image"]
        assert image == f"${{{variable}:-{official}}}", name
        assert interpolated(image, {variable: f"stand-in/{name}:local"}) == f"stand-in/{name}:local"


def test_compose_runs_the_same_apache_kafka_as_the_local_stack():
    assert interpolated(SERVICES["kafka"]["image"], {}) == f"apache/kafka:{KAFKA_VERSION}"
    assert SERVICES["kafka"]["command"] == ["/bin/bash", "/etc/qa-platform/kafka/start.sh"]
    assert "./deploy/kafka:/etc/qa-platform/kafka:ro" in SERVICES["kafka"]["volumes"]
    assert KAFKA_PROPERTIES["process.roles"] == "broker,controller"


def test_prometheus_runs_a_supported_release_3():
    version = interpolated(SERVICES["prometheus"]["image"], {}).rsplit(":v", 1)[1]
    assert int(version.split(".")[0]) >= 3, version  # 2.x is out of support


def one_shot_jobs() -> set[str]:
    """Services others wait on to finish (not to be healthy): they run once and exit."""
    return {
        name
        for service in SERVICES.values()
        if isinstance(service.get("depends_on"), dict)
        for name, how in service["depends_on"].items()
        if how.get("condition") == "service_completed_successfully"
    }


MIGRATE_JOBS = {f"{service}-migrate" for service in SERVICE_NAMES}
DEV_ONLY = {"auth-keys", "mailpit"}


def test_every_long_running_compose_service_has_a_healthcheck():
    assert one_shot_jobs() == {"kafka-setup", *MIGRATE_JOBS}
    for name, service in SERVICES.items():
        if name not in one_shot_jobs() | {"auth-keys"}:
            assert "healthcheck" in service, name


def test_the_mail_catcher_and_the_local_token_issuer_are_dev_only():
    assert {name for name, spec in SERVICES.items() if "profiles" in spec} == DEV_ONLY
    for name in DEV_ONLY:
        assert SERVICES[name]["profiles"] == ["dev"]
    for name, spec in SERVICES.items():
        if name not in DEV_ONLY:  # what runs without the profile never waits for it
            assert not set(spec.get("depends_on", {})) & DEV_ONLY, name


def published_ports(variables: dict[str, str]) -> dict[str, list[str]]:
    return {
        name: [interpolated(port, variables) for port in spec["ports"]]
        for name, spec in SERVICES.items()
        if spec.get("ports") and "profiles" not in spec
    }


def test_only_the_web_front_is_published_and_on_localhost_unless_told_otherwise():
    assert published_ports({}) == {"web": ["127.0.0.1:8005:8005"]}
    assert published_ports({"WEB_BIND": "0.0.0.0"}) == {"web": ["0.0.0.0:8005:8005"]}
    # The dev profile's mail catcher shows every email: on this machine only, always.
    assert SERVICES["mailpit"]["ports"] == ["127.0.0.1:8025:8025"]


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
    spec = SERVICES[service]
    assert spec["command"] == ["python", "-m", f"services.{service}"]
    assert (ROOT / "services" / service / "__main__.py").exists()
    assert spec["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    images = {SERVICES[s]["image"] for s in (*MONITORED, *one_shot_jobs(), "auth-keys")}
    assert images == {spec["image"]}


def read_variables(environment: dict[str, object]) -> set[str]:
    """What a process sees: NAME__FILE becomes NAME (tooling.secret_files)."""
    return {name.removesuffix(SECRET_FILE) for name in environment}


@pytest.mark.parametrize("service", sorted(MONITORED))
def test_each_service_is_configured_with_settings_it_really_reads(service):
    environment = environment_of(service)
    fields = settings_class(service).model_fields
    libpq = {"PGPASSWORD"}  # read by PostgreSQL's client library, not by the settings
    assert [v for v in read_variables(environment) - libpq if v.lower() not in fields] == []
    assert environment["QA_ENVIRONMENT"] == "production"
    assert environment["CASE_MANAGEMENT_SOURCE"] == PRODUCTION["CASE_MANAGEMENT_SOURCE"]
    assert "ports" not in SERVICES[service]  # reached through the web front only


@pytest.mark.parametrize("service", sorted(MONITORED))
def test_each_service_connects_to_postgresql_as_its_own_role_with_tls_verified(service):
    environment = environment_of(service)
    url = make_url(environment["DATABASE_URL"])
    assert (url.host, url.port, url.database) == ("postgres", 5432, service)
    assert url.username == f"{service}_app"
    assert url.password is None  # it comes from the secret file, through PGPASSWORD
    assert url.query == {"sslmode": "verify-full", "sslrootcert": "/run/secrets/qa-ca"}
    assert environment["PGPASSWORD__FILE"] == f"/run/secrets/db-{service}-app"
    migrate = environment_of(f"{service}-migrate")
    owner = make_url(migrate["DATABASE_URL"])
    assert (owner.username, owner.database, owner.query) == (f"{service}_owner", service, url.query)
    assert migrate["DATABASE_APP_ROLE"] == url.username
    assert migrate["PGPASSWORD__FILE"] == f"/run/secrets/db-{service}-owner"
    assert SERVICES[f"{service}-migrate"]["command"] == [
        "python", "-m", "tooling.database_roles", "migrate", service,
    ]  # fmt: skip
    assert SERVICES[service]["depends_on"][f"{service}-migrate"] == {
        "condition": "service_completed_successfully"
    }


def test_postgresql_is_not_published_and_makes_two_roles_for_every_service_database():
    postgres = SERVICES["postgres"]
    assert "ports" not in postgres
    assert postgres["environment"]["QA_DATABASES"].split() == list(SERVICE_NAMES)
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in postgres["volumes"] if v[:1] == ".")
    assert mounts["./deploy/postgres/init-roles.sh"].startswith("/docker-entrypoint-initdb.d/")
    assert mounts["./deploy/postgres/roles.sql"] == postgres["environment"]["ROLES_SQL"]
    for service in SERVICE_NAMES:
        for kind in ("owner", "app"):
            assert f"db-{service}-{kind}" in postgres["secrets"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres-superuser"
    command = " ".join(postgres["command"])
    assert "ssl=on" in command
    hba = mounts["./deploy/postgres/pg_hba.conf"]
    assert f"hba_file={hba}" in command
    rules = [
        line.split() for line in (ROOT / "deploy/postgres/pg_hba.conf").read_text().splitlines()
    ]
    network = [rule for rule in rules if rule and rule[0].startswith("host")]
    assert network == [["hostssl", "all", "all", "all", "scram-sha-256"]]  # never without TLS


def test_the_database_roles_grant_the_trail_insert_and_select_only():
    statements = app_grants("audit_app")
    assert "REVOKE UPDATE, DELETE, TRUNCATE ON access_trail FROM audit_app" in statements
    assert statements.index("REVOKE UPDATE, DELETE, TRUNCATE ON access_trail FROM audit_app") > (
        statements.index(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO audit_app"
        )
    )
    with pytest.raises(ValueError, match="plain role name"):
        app_grants("audit_app; DROP TABLE access_trail")


def secret_paths(spec: dict[str, object]) -> set[str]:
    """Every /run/secrets/<name> a service's environment or command names."""
    text = json.dumps({key: spec.get(key) for key in ("environment", "command")})
    return set(re.findall(r"/run/secrets/([\w.-]+)", text))


def test_each_secret_a_container_reads_is_mounted_into_it_and_provided_as_a_file():
    declared = COMPOSE["secrets"]
    for name, spec in SERVICES.items():
        mounted = set(spec.get("secrets", []))
        assert secret_paths(spec) <= mounted, name
        assert mounted <= declared.keys(), name
    for name, secret in declared.items():
        assert set(secret) == {"file"}, name
        assert secret["file"].startswith("${QA_SECRETS_DIR:-./secrets}/"), name


SECRET_WORDS = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.IGNORECASE)


def test_no_password_is_committed_in_the_compose_file():
    for name, spec in SERVICES.items():
        for variable, value in (spec.get("environment") or {}).items():
            if not SECRET_WORDS.search(variable) or variable.endswith(("_FILE", "_DIR", "_PATH")):
                continue
            # Only from the operator's environment: required, or empty unless given.
            assert re.fullmatch(rf"\$\{{{variable}(:\?[^}}]+|:-)\}}", str(value)), (name, variable)
        for variable, value in (spec.get("environment") or {}).items():
            if variable.endswith(SECRET_FILE):
                assert str(value).startswith("/run/secrets/"), (name, variable)
    text = (ROOT / "docker-compose.yml").read_text()
    assert "qa-local-only" not in text  # the password this file once shipped
    assert not re.search(r"postgresql://[^@\s]*:[^@\s]*@", text)  # no password in a URL


def test_the_session_secret_must_be_set_and_no_default_is_shipped():
    secret = SERVICES["web"]["environment"]["SESSION_SECRET"]
    assert re.fullmatch(r"\$\{SESSION_SECRET:\?[^}]+\}", secret), secret
    with pytest.raises(KeyError, match="SESSION_SECRET"):
        environment_of("web", {})
    with pytest.raises(KeyError, match="SESSION_SECRET"):
        environment_of("web", {**PRODUCTION, "SESSION_SECRET": ""})


@pytest.mark.parametrize("variable", ["AUTH_JWKS_URL", "AUTH_ISSUER", "CASE_MANAGEMENT_SOURCE"])
def test_the_services_will_not_start_without_the_identity_provider_and_case_source(variable):
    with pytest.raises(KeyError, match=variable):
        environment_of("audit", {**PRODUCTION, variable: ""})


# --- Kafka: SASL_SSL, one principal per service, ACLs ---------------------------------------

KAFKA_PROPERTIES = dict(
    line.split("=", 1)
    for line in (ROOT / "deploy" / "kafka" / "server.properties").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


def test_kafka_serves_clients_over_sasl_ssl_only_with_acls_on():
    listeners = dict(listener.split("://") for listener in KAFKA_PROPERTIES["listeners"].split(","))
    protocols = dict(
        p.split(":") for p in KAFKA_PROPERTIES["listener.security.protocol.map"].split(",")
    )
    for name, address in listeners.items():
        if protocols[name] != "SASL_SSL":  # PLAINTEXT only on the container's loopback
            assert address.startswith("127.0.0.1:"), name
    assert protocols["SASL_SSL"] == "SASL_SSL"
    assert KAFKA_PROPERTIES["advertised.listeners"].split(",")[0] == "SASL_SSL://kafka:9094"
    assert KAFKA_PROPERTIES["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert KAFKA_PROPERTIES["authorizer.class.name"] == (
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    )
    assert KAFKA_PROPERTIES["super.users"] == "User:admin;User:ANONYMOUS"
    assert KAFKA_PROPERTIES["allow.everyone.if.no.acl.found"] == "false"
    assert KAFKA_PROPERTIES["auto.create.topics.enable"] == "false"
    assert "ports" not in SERVICES["kafka"]
    assert KAFKA_PROPERTIES["listener.name.sasl_ssl.ssl.keystore.location"] == (
        "/run/secrets/kafka-keystore"
    )


@pytest.mark.parametrize("service", sorted(MONITORED))
def test_each_service_is_its_own_kafka_principal(service):
    environment = environment_of(service)
    assert environment["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9094"
    assert environment["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert environment["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert environment["KAFKA_SASL_USERNAME"] == service
    assert environment["KAFKA_SASL_PASSWORD__FILE"] == f"/run/secrets/kafka-user-{service}"
    assert environment["KAFKA_SSL_CAFILE"] == "/run/secrets/qa-ca"
    assert "kafka-user-admin" not in SERVICES[service]["secrets"]


def test_the_broker_has_a_scram_user_for_every_principal_the_acls_name():
    users = {s.removeprefix("kafka-user-") for s in SERVICES["kafka"]["secrets"] if "-user-" in s}
    assert users == {"admin", *principals()}
    bound = {binding.principal for binding in acl_bindings()}
    assert bound == {f"User:{name}" for name in principals()}


def test_the_setup_job_applies_the_acls_as_the_super_user():
    job = SERVICES["kafka-setup"]
    assert job["command"] == ["python", "-m", "tooling.kafka_acls", "apply"]
    environment = environment_of("kafka-setup")
    assert environment["KAFKA_SASL_USERNAME"] == "admin"
    assert environment["KAFKA_SASL_PASSWORD__FILE"] == "/run/secrets/kafka-user-admin"
    for service in MONITORED:
        assert SERVICES[service]["depends_on"]["kafka-setup"] == {
            "condition": "service_completed_successfully"
        }


def test_the_acls_follow_the_services_declarations():
    bindings = set(acl_bindings())
    for service in SERVICES_DECLARED:
        principal = f"User:{service.name}"
        mine = {b for b in bindings if b.principal == principal}
        written = {b.name for b in mine if b.operation is Operation.WRITE}
        read = {
            b.name for b in mine if b.operation is Operation.READ and b.resource is Resource.TOPIC
        }
        groups = {b.name for b in mine if b.resource is Resource.GROUP}
        assert written == {*service.publishes, *map(dead_letter_topic, service.consumes)}
        assert read == set(service.consumes)
        assert groups == ({f"qa-{service.name}"} if service.consumes else set())
    case_management = {b for b in bindings if b.principal == "User:case-management"}
    assert {(b.name, b.operation) for b in case_management} == {
        ("case.events", Operation.WRITE),
        ("case.events", Operation.DESCRIBE),
    }


def test_the_consumer_groups_of_the_acls_are_those_the_services_document():
    for service in SERVICES_DECLARED:
        if service.consumes:
            document = (ROOT / "docs" / "asyncapi" / f"{service.name}.json").read_text()
            assert f"(consumer group {service.consumer_group})" in document, service.name


def test_the_acls_print_as_kafka_acls_commands_for_an_existing_cluster():
    lines = kafka_acls_commands(acl_bindings())
    assert (
        'kafka-acls.sh --bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" --command-config '
        '"$KAFKA_ADMIN_CONFIG" --add --allow-principal User:case-management '
        "--operation Write --operation Describe --topic case.events"
    ) in lines
    assert len(lines) == len({(b.principal, b.resource, b.name) for b in acl_bindings()})


def test_the_dev_secrets_script_makes_every_secret_compose_reads(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    script = ROOT / "deploy" / "make-dev-secrets.sh"
    subprocess.run(["bash", str(script), str(tmp_path)], check=True, capture_output=True)
    assert tmp_path.stat().st_mode & 0o077 == 0  # the folder is its owner's only
    assert (tmp_path / "postgres-key.pem").stat().st_mode & 0o007 == 0
    for name, secret in COMPOSE["secrets"].items():
        path = tmp_path / secret["file"].rsplit("/", 1)[1]
        assert path.exists(), name
        assert path.stat().st_mode & 0o022 == 0, name  # nobody else may change it
    for host, certificate in (("kafka", "kafka-keystore.pem"), ("postgres", "postgres-cert.pem")):
        verified = subprocess.run(
            ["openssl", "verify", "-CAfile", "qa-ca.pem", "-verify_hostname", host, certificate],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr


# --- tokens, email, dashboards ---------------------------------------------------------------


def test_services_mount_only_the_public_key_set_never_the_signing_key():
    job = SERVICES["auth-keys"]
    keys, jwks = job["volumes"]
    assert keys == "auth-keys:/var/lib/qa-platform/auth"
    assert jwks == "auth-jwks:/var/lib/qa-platform/jwks"
    assert "LocalIssuer(Path('/var/lib/qa-platform/auth')).ensure()" in job["command"][-1]
    assert "'/var/lib/qa-platform/jwks/jwks.json'" in job["command"][-1]
    assert job["environment"]["QA_STACK_DIR"] + "/auth" == "/var/lib/qa-platform/auth"
    for service in (*MONITORED, *one_shot_jobs()):
        assert SERVICES[service].get("volumes", []) in (
            [],
            ["auth-jwks:/var/lib/qa-platform/jwks:ro"],
        ), service


def test_notifications_send_email_over_tls_in_production():
    environment = environment_of("notifications")
    assert environment["SMTP_SECURITY"] == "starttls"
    assert environment["SMTP_PORT"] == "587"
    assert environment["SMTP_PASSWORD__FILE"] == "/run/secrets/smtp-password"
    dev = environment_of("notifications", {**PRODUCTION, **DEV_VARIABLES})
    assert (dev["SMTP_HOST"], dev["SMTP_PORT"], dev["SMTP_SECURITY"]) == ("mailpit", "1025", "none")


def test_grafana_is_not_anonymous_and_its_admin_password_is_a_secret():
    environment = SERVICES["grafana"]["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in environment
    assert environment["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana-admin-password"
    assert "ports" not in SERVICES["grafana"]


DEV_VARIABLES = dict(
    line.split("=", 1)
    for line in (ROOT / "deploy" / "dev.env").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


def test_the_dev_environment_file_turns_on_only_what_trying_out_needs():
    assert DEV_VARIABLES["QA_ENVIRONMENT"] == "development"
    assert DEV_VARIABLES["AUTH_JWKS_URL"] == "file:///var/lib/qa-platform/jwks/jwks.json"
    assert DEV_VARIABLES["LOCAL_SIGNIN_KEY_DIR"] == "/var/lib/qa-platform/auth"
    assert not [n for n in DEV_VARIABLES if SECRET_WORDS.search(n) and not n.endswith("_DIR")]


# --- the web front ---------------------------------------------------------------------------


def test_the_web_front_runs_from_the_one_image_with_settings_it_really_reads():
    from services.web.settings import WebSettings

    spec = SERVICES["web"]
    assert spec["command"] == ["python", "-m", "services.web"]
    assert (ROOT / "services" / "web" / "__main__.py").exists()
    assert (spec["image"], spec["build"]) == (
        SERVICES["audit"]["image"],
        {"context": ".", "dockerfile": "deploy/Dockerfile"},
    )
    environment = spec["environment"]
    assert [
        v for v in read_variables(environment) if v.lower() not in WebSettings.model_fields
    ] == []
    port = environment["HTTP_PORT"]
    assert port == WebSettings.model_fields["http_port"].default == 8005
    assert "healthcheck" in spec


def test_the_web_front_calls_each_service_where_compose_serves_it():
    environment = SERVICES["web"]["environment"]
    for service in sorted(MONITORED):
        port = SERVICES[service]["environment"]["HTTP_PORT"]
        assert environment[f"{service.upper()}_API_URL"] == f"http://{service}:{port}"
        assert SERVICES["web"]["depends_on"][service] == {"condition": "service_healthy"}


def test_production_sign_in_is_openid_connect_and_local_sign_in_is_off():
    environment = SERVICES["web"]["environment"]
    for name in ("OIDC_ISSUER_URL", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"):
        assert environment[name] == f"${{{name}:-}}", name
    production = environment_of("web")
    assert production["OIDC_ISSUER_URL"] == "https://login.council.example/v2.0"
    assert production["LOCAL_SIGNIN_KEY_DIR"] == ""
    assert production["QA_ENVIRONMENT"] == "production"


def test_the_web_front_starts_with_openid_connect_in_production(monkeypatch):
    from services.web.settings import WebSettings

    for name, value in environment_of("web").items():
        monkeypatch.setenv(name, str(value))
    settings = WebSettings()  # type: ignore[call-arg]
    assert settings.oidc_issuer_url == "https://login.council.example/v2.0"
    assert settings.local_signin_key_dir is None
    assert settings.secure_cookies is True


def test_the_dev_profile_signs_in_locally_with_the_key_the_auth_keys_job_makes():
    from services.web.settings import WebSettings

    spec = SERVICES["web"]
    assert "auth-keys:/var/lib/qa-platform/auth:ro" in spec["volumes"]
    without_oidc = {k: v for k, v in PRODUCTION.items() if not k.startswith("OIDC_")}
    environment = environment_of("web", {**without_oidc, **DEV_VARIABLES})
    settings = WebSettings(**{name.lower(): value for name, value in environment.items()})
    assert settings.local_signin_key_dir == Path("/var/lib/qa-platform/auth")


def test_email_links_open_the_web_front_at_its_public_address():
    record = SERVICES["notifications"]["environment"]["RECORD_BASE_URL"]
    port = SERVICES["web"]["environment"]["HTTP_PORT"]
    assert interpolated(record, {}) == f"http://localhost:{port}"
    public = "https://qa.council.example"
    assert interpolated(record, {"WEB_PUBLIC_URL": public}) == public


# --- the image -------------------------------------------------------------------------------


def test_the_image_reads_secret_files_into_variables_before_its_command():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "-m", "tooling.secret_files"]' in dockerfile.splitlines()


def test_secret_files_become_the_variables_they_name(tmp_path):
    (tmp_path / "kafka-user-audit").write_text("s3cret\n")
    (tmp_path / "empty").write_text("")
    environment = {
        "KAFKA_SASL_PASSWORD__FILE": str(tmp_path / "kafka-user-audit"),
        "SMTP_PASSWORD__FILE": str(tmp_path / "empty"),
        "AUTH_JWKS_FILE": "/var/lib/qa-platform/jwks/jwks.json",  # a setting, left as it is
        "LOG_LEVEL": "INFO",
    }
    assert with_secrets_read(environment) == {
        "KAFKA_SASL_PASSWORD": "s3cret",
        "SMTP_PASSWORD": "",
        "AUTH_JWKS_FILE": "/var/lib/qa-platform/jwks/jwks.json",
        "LOG_LEVEL": "INFO",
    }
    with pytest.raises(FileNotFoundError):
        with_secrets_read({"PGPASSWORD__FILE": str(tmp_path / "absent")})


def test_the_image_installs_the_package_as_a_non_root_user():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    every = [line.split(None, 1) for line in dockerfile.splitlines() if line[:1].isalpha()]
    stages = [i for i, (keyword, _) in enumerate(every) if keyword == "FROM"]
    # The base images are build arguments whose defaults are the official images.
    defaults = dict(arg.split("=", 1) for keyword, arg in every[: stages[0]] if keyword == "ARG")
    assert defaults == {"NODE_IMAGE": "node:20-slim", "BASE_IMAGE": "python:3.11-slim"}
    assert every[stages[0]] == ["FROM", "${NODE_IMAGE} AS web-assets"]  # the web front's assets
    instructions = every[stages[-1] :]  # the image itself
    assert instructions[0] == ["FROM", "${BASE_IMAGE}"]
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
        "ReauditRefused",
        "HttpErrorRateHigh",
        "OutboxBacklogGrowing",
    }
    assert (firing, quiet) == (names, names)


def test_the_promtool_here_checks_prometheus_2_while_compose_runs_3():
    """Debian ships promtool 2.x; the configuration above uses nothing 3.x dropped (README)."""
    version = re.search(r"version (\d+)\.\d+\.\d+", run_promtool("--version"))
    assert version is not None
    assert int(version[1]) >= 2


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
    modules = ("shared.metrics", "shared.http_metrics")
    for module in (*modules, *(f"services.{s}.metrics" for s in MONITORED)):
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
        "http_requests_total",  # request rate and server errors
        "http_request_duration_seconds_bucket",
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
