"""Signing in through an OpenID Connect issuer: authorization code with PKCE (S256).

The issuer is a small one of our own on loopback, so the whole exchange is real HTTP: discovery,
the redirect, the token request with the code verifier, the ID token checked against its keys.
"""

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
import uvicorn
from fastapi import FastAPI, Form, HTTPException
from fastapi.responses import RedirectResponse

from tests.tokens import ISSUER
from tests.unit.web.pages import FakeBackends, page, text, web
from tooling.localstack.processes import free_port

CLIENT_ID = "qa-web"


class Issuer:
    """Remembers what it was asked, so tests can see the PKCE challenge and its check."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.subject = "S0003"
        self.requests: dict[str, dict[str, str]] = {}
        self.verified: list[str] = []

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> dict[str, Any]:
            return {
                "issuer": ISSUER.issuer,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }

        @app.get("/jwks")
        def jwks() -> Any:
            import json

            return json.loads(ISSUER.jwks_file.read_text())

        @app.get("/authorize")
        def authorize(
            redirect_uri: str,
            state: str,
            nonce: str,
            code_challenge: str,
            code_challenge_method: str,
        ) -> RedirectResponse:
            code = f"code-{len(self.requests)}"
            self.requests[code] = {
                "challenge": code_challenge,
                "method": code_challenge_method,
                "nonce": nonce,
            }
            return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")

        @app.post("/token")
        def token(code: str = Form(), code_verifier: str = Form()) -> dict[str, Any]:
            asked = self.requests.get(code)
            digest = hashlib.sha256(code_verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if asked is None or challenge != asked["challenge"]:
                raise HTTPException(400, "invalid_grant")
            self.verified.append(code)
            now = int(time.time())
            claims = {
                "iss": ISSUER.issuer,
                "aud": CLIENT_ID,
                "sub": self.subject,
                "nonce": asked["nonce"],
                "iat": now,
                "exp": now + 300,
            }
            id_token = jwt.encode(
                claims,
                ISSUER.private_key_file.read_bytes(),
                algorithm="RS256",
                headers={"kid": ISSUER.key_id},
            )
            return {
                "access_token": ISSUER.mint(self.subject),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            }

        return app


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    port = free_port()
    found = Issuer(f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(found.app(), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield found
    server.should_exit = True
    thread.join()


def oidc(issuer: Issuer) -> dict[str, Any]:
    return {
        "oidc_issuer_url": issuer.url,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": "s3cret",
        "local_signin_key_dir": None,
    }


def test_signing_in_goes_through_the_issuer_with_pkce_and_back_to_the_page(issuer):
    fakes = FakeBackends({"notifications.inbox": {"unread": 1, "items": []}})
    with web(fakes, **oidc(issuer)) as client:
        start = client.get("/sign-in?next=/")
        assert start.status_code == 302
        asked = parse_qs(urlsplit(start.headers["location"]).query)
        assert asked["code_challenge_method"] == ["S256"]
        assert asked["response_type"] == ["code"]
        back = httpx.get(start.headers["location"])
        callback = urlsplit(back.headers["location"])
        done = client.get(f"{callback.path}?{callback.query}")
        assert done.status_code == 303
        assert done.headers["location"] == "/"
        home = page(client.get("/"))
    assert text(home, "h1") == "My work"
    assert "Signed in as Chloe Carter" in text(home, ".app-sign-out")
    assert len(issuer.verified) == 1  # the token request carried the right code verifier


def test_someone_the_organisation_file_does_not_know_is_refused(issuer):
    issuer.subject = "NOT-STAFF"
    try:
        with web(**oidc(issuer)) as client:
            start = client.get("/sign-in")
            callback = urlsplit(httpx.get(start.headers["location"]).headers["location"])
            refused = client.get(f"{callback.path}?{callback.query}")
    finally:
        issuer.subject = "S0003"
    assert refused.status_code == 403
    assert "not one of this service's staff" in text(page(refused), "main")


def test_without_local_sign_in_the_pick_a_person_form_is_not_there(issuer):
    with web(**oidc(issuer)) as client:
        assert client.post("/sign-in", data={"staff_id": "S0003"}).status_code in (403, 404)
