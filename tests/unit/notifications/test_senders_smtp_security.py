"""Email leaves over TLS (STARTTLS or implicit) and credentials never cross in clear.

Each test runs a real SMTP server (aiosmtpd, on loopback) with a certificate from a CA made
here, and sends with the service's own SmtpMailer.
"""

import datetime as dt
import ipaddress
import smtplib
import ssl
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from services.notifications.models import Notification
from services.notifications.senders import (
    PlainTextLoginRefused,
    SmtpMailer,
    SmtpSecurity,
    SmtpSettings,
)
from services.notifications.settings import NotificationSettings
from shared.settings import SettingsError, load_settings
from tooling.localstack.processes import free_port

USER, PASSWORD = "qa-mailer", "smtp-secret-pw"


def certificate_authority(folder: Path) -> tuple[Path, Path, Path]:
    """A CA (ca.pem) and a certificate it signed for 127.0.0.1 (server.pem, server.key)."""
    now = dt.datetime.now(dt.UTC)

    def signed(
        subject: str, key: Any, issuer: x509.Name, signer: Any, ca: bool
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            address = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
            builder = builder.add_extension(x509.SubjectAlternativeName([address]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test mail CA")])
    ca = signed("test mail CA", ca_key, ca_name, ca_key, ca=True)
    server = signed("127.0.0.1", server_key, ca_name, ca_key, ca=False)
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class Mailbox:
    """Keeps each message with whether its session was encrypted and logged in."""

    def __init__(self) -> None:
        self.received: list[tuple[Any, bool, bool]] = []
        self.login_attempts = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.received.append((message, encrypted, session.authenticated))
        return "250 Message accepted for delivery"

    def authenticate(
        self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        self.login_attempts += 1
        return AuthResult(success=(data.login, data.password) == (USER.encode(), PASSWORD.encode()))


@pytest.fixture
def ca(tmp_path: Path) -> tuple[Path, Path, Path]:
    return certificate_authority(tmp_path)


def server_context(ca: tuple[Path, Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(ca[1], ca[2])
    return context


@pytest.fixture
def smtp_server(
    request: pytest.FixtureRequest, ca: tuple[Path, Path, Path]
) -> Iterator[tuple[int, Mailbox]]:
    """A server as `request.param` says: "starttls" (offered and required), "tls", "plain"."""
    mailbox, port, kind = Mailbox(), free_port(), request.param
    options: dict[str, Any] = {"authenticator": mailbox.authenticate, "auth_require_tls": True}
    if kind == "starttls":
        options |= {"tls_context": server_context(ca), "require_starttls": True}
    if kind == "tls":
        # aiosmtpd counts only STARTTLS as TLS for AUTH; here the whole connection is TLS.
        options |= {"ssl_context": server_context(ca), "auth_require_tls": False}
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    yield port, mailbox
    controller.stop()


def mailer(
    port: int, security: SmtpSecurity, cafile: Path | None, login: bool = True
) -> SmtpMailer:
    return SmtpMailer(
        SmtpSettings(
            "127.0.0.1",
            port,
            security,
            USER if login else None,
            SecretStr(PASSWORD) if login else None,
            "qa-platform@council.example",
            cafile,
        )
    )


NOW = dt.datetime.now(dt.UTC)
NOTIFICATION = Notification(
    id="N-TLS-1",
    source_event_id="EV-TLS-1",
    case_id="CASE-TLS-1",
    recipient_id="S0003",
    channel="email",
    kind="action",
    event_type="qa.followup.scheduled.v1",
    subject="Reflective conversation due for CASE-TLS-1",
    body_text="Open the follow-up.",
    body_html="<p>Open the follow-up.</p>",
    link="https://qa.council.example/followups/FU-1",
    status="pending",
    event_time=NOW,
    created_at=NOW,
)


@pytest.mark.parametrize(
    ("smtp_server", "security"),
    [("starttls", "starttls"), ("tls", "tls")],
    indirect=["smtp_server"],
)
def test_email_is_sent_encrypted_and_logged_in_over_starttls_or_implicit_tls(
    smtp_server, security, ca
):
    port, mailbox = smtp_server
    mailer(port, security, ca[0]).send(NOTIFICATION, "head@council.example")
    [(message, encrypted, authenticated)] = mailbox.received
    assert message["Subject"] == NOTIFICATION.subject
    assert (encrypted, authenticated) == (True, True)


@pytest.mark.parametrize("smtp_server", ["plain"], indirect=True)
def test_a_server_that_offers_no_starttls_is_refused_before_any_login(smtp_server, ca):
    port, mailbox = smtp_server
    with pytest.raises(smtplib.SMTPNotSupportedError):
        mailer(port, "starttls", ca[0]).send(NOTIFICATION, "head@council.example")
    assert (mailbox.received, mailbox.login_attempts) == ([], 0)


@pytest.mark.parametrize("smtp_server", ["starttls"], indirect=True)
def test_a_server_certificate_from_an_untrusted_ca_is_refused(smtp_server, tmp_path):
    port, mailbox = smtp_server
    (tmp_path / "other").mkdir()
    other_ca = certificate_authority(tmp_path / "other")[0]
    with pytest.raises(ssl.SSLCertVerificationError):
        mailer(port, "starttls", other_ca).send(NOTIFICATION, "head@council.example")
    assert (mailbox.received, mailbox.login_attempts) == ([], 0)


@pytest.mark.parametrize("smtp_server", ["plain"], indirect=True)
def test_the_mailer_never_logs_in_over_a_plain_connection(smtp_server):
    port, mailbox = smtp_server
    with pytest.raises(PlainTextLoginRefused):
        mailer(port, "none", None).send(NOTIFICATION, "head@council.example")
    assert (mailbox.received, mailbox.login_attempts) == ([], 0)
    # Without credentials, `none` is for a local mail catcher: it still delivers there.
    mailer(port, "none", None, login=False).send(NOTIFICATION, "head@council.example")
    assert [encrypted for _, encrypted, _ in mailbox.received] == [False]


def test_production_settings_refuse_email_without_tls(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9094")
    monkeypatch.setenv("AUTH_JWKS_URL", "https://login.council.example/keys")
    monkeypatch.delenv("AUTH_JWKS_FILE", raising=False)
    monkeypatch.setenv("QA_ENVIRONMENT", "production")
    monkeypatch.delenv("SMTP_SECURITY", raising=False)
    with pytest.raises(SettingsError, match="SMTP_SECURITY=none is refused in production"):
        load_settings(NotificationSettings)
    monkeypatch.setenv("SMTP_SECURITY", "starttls")
    assert load_settings(NotificationSettings).smtp_security == "starttls"
    monkeypatch.setenv("QA_ENVIRONMENT", "development")  # a local mail catcher
    monkeypatch.delenv("SMTP_SECURITY")
    assert load_settings(NotificationSettings).smtp_security == "none"


def test_settings_refuse_credentials_without_tls(monkeypatch):
    monkeypatch.setenv("QA_ENVIRONMENT", "development")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9094")
    monkeypatch.setenv("SMTP_USERNAME", USER)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    monkeypatch.delenv("SMTP_SECURITY", raising=False)
    with pytest.raises(SettingsError, match="SMTP_SECURITY=starttls or tls") as refusal:
        load_settings(NotificationSettings)
    assert PASSWORD not in str(refusal.value)
    for security in ("starttls", "tls"):
        monkeypatch.setenv("SMTP_SECURITY", security)
        settings = load_settings(NotificationSettings)
        assert settings.smtp_security == security
        assert PASSWORD not in repr(settings)
    monkeypatch.setenv("SMTP_SECURITY", "ssl")
    with pytest.raises(SettingsError, match="SMTP_SECURITY"):
        load_settings(NotificationSettings)
