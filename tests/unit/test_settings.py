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
