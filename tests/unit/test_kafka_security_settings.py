"""KAFKA_SECURITY_PROTOCOL and friends: refused combinations, secrets kept out of sight."""

import ssl
from pathlib import Path

import certifi
import pytest
from faststream.security import SASLScram256, SASLScram512
from pydantic import SecretStr

from shared.kafka import broker_security, client_options
from shared.settings import KafkaSecurity, ServiceSettings, SettingsError, load_settings

PASSWORD = "do-not-print-me-7"
VARIABLES = (
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SSL_CAFILE",
)


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-1:9096")
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


@pytest.fixture
def ca_file() -> Path:
    # Any PEM CA bundle will do; certifi's is always installed (httpx depends on it).
    return Path(certifi.where())


def test_plaintext_is_the_default_and_builds_no_security(env):
    settings = load_settings(ServiceSettings)
    assert settings.kafka_security == KafkaSecurity()
    assert broker_security(settings.kafka_security) is None
    assert client_options(settings.kafka_security) == {}


def test_sasl_ssl_defaults_to_scram_sha_512_verifying_the_broker(env, ca_file):
    env.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    env.setenv("KAFKA_SASL_USERNAME", "qa-audit")
    env.setenv("KAFKA_SASL_PASSWORD", PASSWORD)
    env.setenv("KAFKA_SSL_CAFILE", str(ca_file))
    security = broker_security(load_settings(ServiceSettings).kafka_security)
    assert isinstance(security, SASLScram512)
    assert security.username == "qa-audit"
    assert security.ssl_context is not None
    assert security.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert security.ssl_context.check_hostname is True
    options = client_options(load_settings(ServiceSettings).kafka_security)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"


def test_scram_sha_256_can_be_chosen(env):
    env.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    env.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
    env.setenv("KAFKA_SASL_USERNAME", "qa-audit")
    env.setenv("KAFKA_SASL_PASSWORD", PASSWORD)
    security = broker_security(load_settings(ServiceSettings).kafka_security)
    assert isinstance(security, SASLScram256)
    assert client_options(KafkaSecurity("SASL_SSL", "SCRAM-SHA-256", "u", SecretStr("p")))[
        "sasl_mechanism"
    ] == ("SCRAM-SHA-256")


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_PASSWORD": PASSWORD},
         "KAFKA_SASL_USERNAME is required when KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "qa-audit"},
         "KAFKA_SASL_PASSWORD is required when KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
        ({"KAFKA_SASL_USERNAME": "qa-audit", "KAFKA_SASL_PASSWORD": PASSWORD},
         "KAFKA_SASL_USERNAME is set but KAFKA_SECURITY_PROTOCOL is PLAINTEXT"),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL"},
         "KAFKA_SECURITY_PROTOCOL: Input should be 'PLAINTEXT' or 'SASL_SSL'"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "PLAIN",
          "KAFKA_SASL_USERNAME": "qa-audit", "KAFKA_SASL_PASSWORD": PASSWORD},
         "KAFKA_SASL_MECHANISM: Input should be 'SCRAM-SHA-512' or 'SCRAM-SHA-256'"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "qa-audit",
          "KAFKA_SASL_PASSWORD": PASSWORD, "KAFKA_SSL_CAFILE": "/nowhere/ca.pem"},
         "KAFKA_SSL_CAFILE: /nowhere/ca.pem is not a readable PEM CA bundle"),
    ],
)  # fmt: skip
def test_an_unusable_combination_stops_the_service_naming_the_variable(env, variables, expected):
    for name, value in variables.items():
        env.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(ServiceSettings)
    assert expected in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_a_file_that_is_not_pem_is_refused_as_ca_bundle(env, tmp_path):
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate")
    env.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    env.setenv("KAFKA_SASL_USERNAME", "qa-audit")
    env.setenv("KAFKA_SASL_PASSWORD", PASSWORD)
    env.setenv("KAFKA_SSL_CAFILE", str(not_pem))
    with pytest.raises(
        SettingsError, match=r"KAFKA_SSL_CAFILE: .* is not a readable PEM CA bundle"
    ):
        load_settings(ServiceSettings)


def test_the_password_never_shows_in_settings_reprs(env):
    env.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    env.setenv("KAFKA_SASL_USERNAME", "qa-audit")
    env.setenv("KAFKA_SASL_PASSWORD", PASSWORD)
    settings = load_settings(ServiceSettings)
    assert settings.kafka_security.password is not None
    assert settings.kafka_security.password.get_secret_value() == PASSWORD
    for shown in (repr(settings), str(settings), repr(settings.kafka_security)):
        assert PASSWORD not in shown
    assert PASSWORD not in repr(broker_security(settings.kafka_security))


def test_an_invalid_security_is_refused_even_when_built_in_code():
    with pytest.raises(SettingsError, match="KAFKA_SASL_USERNAME is required"):
        broker_security(KafkaSecurity("SASL_SSL", password=SecretStr(PASSWORD)))
