"""SASL/SCRAM over TLS against a real Apache Kafka broker with a SCRAM-SHA-512 listener.

A service configured with KAFKA_SECURITY_PROTOCOL=SASL_SSL, its credentials and the CA publishes
and consumes; a client without credentials, with a wrong password, or not trusting the broker's
CA is refused. The refusals are checked both through the services' own broker (start fails) and
on one raw connection, so each names its specific cause.
"""

import asyncio
import logging
import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed
from aiokafka.protocol.metadata import MetadataRequest
from faststream.kafka.annotations import KafkaMessage
from pydantic import SecretStr

from shared.consumer import raw_body
from shared.kafka import BrokerPublisher, client_options, make_broker
from shared.runtime import ServiceRuntime
from shared.service import ServiceDefinition
from shared.settings import KafkaSecurity, ServiceSettings, load_settings
from tests.integration.kafka_tools import start_secured
from tooling.localstack.kafka import KafkaServer, ScramUser
from tooling.localstack.topics import ensure_topics

USER = "qa-service"
PASSWORD = "scram-pw-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def scram_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaServer]:
    server = start_secured(
        KafkaServer(
            tmp_path_factory.mktemp("kafka-scram"), scram=ScramUser(USER, SecretStr(PASSWORD))
        )
    )
    yield server
    server.stop()


def security(server: KafkaServer, **changes: Any) -> KafkaSecurity:
    settings: dict[str, Any] = {
        "protocol": "SASL_SSL",
        "username": USER,
        "password": SecretStr(PASSWORD),
        "cafile": server.ca_file,
    }
    return KafkaSecurity(**(settings | changes))


async def metadata_brokers(server: KafkaServer, **options: Any) -> list[Any]:
    """Connect once to the SASL_SSL port with `options` and ask for the cluster's brokers."""
    connection = await create_conn("127.0.0.1", server.sasl_ssl_port, **options)
    try:
        response = await connection.send(MetadataRequest([]))
    finally:
        connection.close()
    return list(response.brokers)


async def assert_broker_start_refused(server: KafkaServer, sec: KafkaSecurity | None) -> None:
    """A service's broker (as make_broker builds it) cannot connect with this security."""
    broker = make_broker(server.sasl_ssl_bootstrap_servers, client_id="qa-refused", security=sec)
    try:
        with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
            await asyncio.wait_for(broker.start(), timeout=60)
    finally:
        await broker.stop()


async def test_a_service_with_credentials_and_the_ca_publishes_and_consumes(
    scram_kafka, monkeypatch, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    # The whole path a service takes: environment → settings → runtime → broker.
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", scram_kafka.sasl_ssl_bootstrap_servers)
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", USER)
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", PASSWORD)
    monkeypatch.setenv("KAFKA_SSL_CAFILE", str(scram_kafka.ca_file))
    monkeypatch.delenv("KAFKA_SASL_MECHANISM", raising=False)  # SCRAM-SHA-512 by default
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    settings = load_settings(ServiceSettings)
    topic = f"secured.{uuid.uuid4().hex[:10]}"
    assert await ensure_topics(
        settings.kafka_bootstrap_servers, [topic], security=settings.kafka_security
    ) == [topic]

    bare = ServiceDefinition(ServiceSettings, "Secured", "A runtime and nothing else", (), (), {})
    runtime = ServiceRuntime.build(bare, settings)
    received: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    @runtime.broker.subscriber(
        topic,
        group_id=f"secured-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        decoder=raw_body,
    )
    async def on_message(message: KafkaMessage) -> None:
        if not received.done():
            received.set_result(message.raw_message.value)

    try:
        await runtime.broker.start()
        await BrokerPublisher(runtime.broker).publish(topic, b"CASE-SECURE-1", b"over SCRAM")
        assert await asyncio.wait_for(received, timeout=60) == b"over SCRAM"
    finally:
        await runtime.broker.stop()
        runtime.engine.dispose()

    # SCRAM sends a proof, never the password, and nothing the service prints shows it.
    assert any("Authenticated as qa-service via SCRAM-SHA-512" in r.message for r in caplog.records)
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in repr(runtime)


async def test_a_plaintext_client_is_refused_on_the_sasl_ssl_port(scram_kafka):
    with pytest.raises(KafkaConnectionError, match=f"127.0.0.1:{scram_kafka.sasl_ssl_port} closed"):
        await metadata_brokers(scram_kafka)
    await assert_broker_start_refused(scram_kafka, None)


async def test_tls_without_credentials_is_refused(scram_kafka):
    # The broker is trusted and TLS succeeds, but no SASL login: the broker hangs up.
    context = ssl.create_default_context(cafile=str(scram_kafka.ca_file))
    with pytest.raises(KafkaConnectionError, match="closed"):
        await metadata_brokers(scram_kafka, security_protocol="SSL", ssl_context=context)


async def test_a_wrong_password_is_refused(scram_kafka, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = security(scram_kafka, password=SecretStr("not-" + PASSWORD))
    with pytest.raises(SaslAuthenticationFailed, match="invalid credentials"):
        await metadata_brokers(scram_kafka, **client_options(wrong))
    await assert_broker_start_refused(scram_kafka, wrong)
    assert "not-" + PASSWORD not in caplog.text


async def test_a_client_not_trusting_the_ca_fails_the_tls_handshake(scram_kafka):
    # No KAFKA_SSL_CAFILE: only the system's CAs are trusted, and none signed this broker.
    untrusting = security(scram_kafka, cafile=None)
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        await metadata_brokers(scram_kafka, **client_options(untrusting))
    await assert_broker_start_refused(scram_kafka, untrusting)


async def test_the_right_credentials_work_on_the_same_raw_connection(scram_kafka):
    # The control for the refusals above: the same helper succeeds when nothing is missing.
    brokers = await metadata_brokers(scram_kafka, **client_options(security(scram_kafka)))
    assert [(host, port) for _, host, port, _ in brokers] == [
        ("127.0.0.1", scram_kafka.sasl_ssl_port)
    ]
