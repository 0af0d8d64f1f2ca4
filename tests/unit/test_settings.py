import pytest

from shared.settings import ServiceSettings, SettingsError, load_settings


class ExampleSettings(ServiceSettings):
    service_name = "example"
    sample_rate: float


def test_missing_variables_are_named_at_start(monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("SAMPLE_RATE", raising=False)
    with pytest.raises(SettingsError) as caught:
        load_settings(ExampleSettings)
    message = str(caught.value)
    assert "example cannot start" in message
    assert "KAFKA_BOOTSTRAP_SERVERS: missing required environment variable" in message
    assert "SAMPLE_RATE: missing required environment variable" in message


def test_malformed_variables_are_named_with_the_problem(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    monkeypatch.setenv("SAMPLE_RATE", "a quarter")
    with pytest.raises(SettingsError, match="SAMPLE_RATE: Input should be a valid number"):
        load_settings(ExampleSettings)


def test_sqlite_file_of_the_service_is_the_default_database(monkeypatch, tmp_path):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    monkeypatch.setenv("SAMPLE_RATE", "0.25")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = load_settings(ExampleSettings)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path}/example.db"
    assert settings.kafka_idempotent_producer is True


def test_database_url_wins_over_the_default(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    monkeypatch.setenv("SAMPLE_RATE", "0.25")
    monkeypatch.setenv("DATABASE_URL", "postgresql://qa@db/example")
    assert load_settings(ExampleSettings).resolved_database_url == "postgresql://qa@db/example"


def service_environment(monkeypatch, **variables: str) -> None:
    """A service's environment with only the token variables given (and a broker)."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    for name in ("QA_ENVIRONMENT", "AUTH_JWKS_FILE", "AUTH_JWKS_URL", "MACHINE_CLIENTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def test_production_is_what_a_deployment_gets_unless_it_says_otherwise(monkeypatch):
    service_environment(monkeypatch, AUTH_JWKS_URL="https://login.example.gov.uk/jwks")
    assert load_settings(ServiceSettings).qa_environment == "production"


def test_production_refuses_the_local_issuers_key_file_naming_the_variable(monkeypatch, tmp_path):
    service_environment(monkeypatch, AUTH_JWKS_FILE=str(tmp_path / "jwks.json"))
    with pytest.raises(SettingsError, match="AUTH_JWKS_FILE is the local issuer's key set"):
        load_settings(ServiceSettings)
    monkeypatch.setenv("QA_ENVIRONMENT", "development")
    assert load_settings(ServiceSettings).auth_jwks_file == tmp_path / "jwks.json"


def test_production_refuses_a_plain_http_key_set_url_naming_the_variable(monkeypatch):
    service_environment(monkeypatch, AUTH_JWKS_URL="http://login.example.gov.uk/jwks")
    with pytest.raises(SettingsError, match="AUTH_JWKS_URL must be an https:// address"):
        load_settings(ServiceSettings)
    monkeypatch.setenv("QA_ENVIRONMENT", "development")
    assert load_settings(ServiceSettings).auth_jwks_url == "http://login.example.gov.uk/jwks"


def test_an_unknown_environment_is_refused_naming_the_variable(monkeypatch):
    service_environment(monkeypatch, AUTH_JWKS_URL="https://a.example/jwks", QA_ENVIRONMENT="prod")
    with pytest.raises(SettingsError, match="QA_ENVIRONMENT: Input should be 'production' or"):
        load_settings(ServiceSettings)


def test_no_machine_caller_is_let_in_unless_listed(monkeypatch):
    service_environment(monkeypatch, AUTH_JWKS_URL="https://a.example/jwks")
    assert load_settings(ServiceSettings).machine_clients == {}
    monkeypatch.setenv("MACHINE_CLIENTS", '{"reporting": ["GET /stats/grades"]}')
    assert load_settings(ServiceSettings).machine_clients == {"reporting": {"GET /stats/grades"}}


def test_a_machine_clients_route_not_named_as_in_the_permission_tables_is_refused(monkeypatch):
    service_environment(
        monkeypatch, AUTH_JWKS_URL="https://a.example/jwks", MACHINE_CLIENTS='{"r": ["/stats"]}'
    )
    with pytest.raises(SettingsError, match=r"MACHINE_CLIENTS: routes are named .* not /stats"):
        load_settings(ServiceSettings)


def test_token_lifetime_is_capped_at_twelve_hours_unless_set(monkeypatch):
    service_environment(monkeypatch, AUTH_JWKS_URL="https://a.example/jwks")
    assert load_settings(ServiceSettings).auth_max_token_seconds == 12 * 3600
    monkeypatch.setenv("AUTH_MAX_TOKEN_HOURS", "1")
    assert load_settings(ServiceSettings).auth_max_token_seconds == 3600


def test_a_file_url_for_the_token_keys_is_read_as_the_key_file(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTH_JWKS_URL", f"file://{tmp_path}/jwks.json")
    monkeypatch.delenv("AUTH_JWKS_FILE", raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    monkeypatch.setenv("SAMPLE_RATE", "0.1")
    settings = load_settings(ExampleSettings)
    assert (settings.auth_jwks_url, settings.auth_jwks_file) == (None, tmp_path / "jwks.json")
