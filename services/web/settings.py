from pathlib import Path
from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import SettingsConfigDict

from shared.organisation import DEMO_ORGANISATION_FILE
from shared.settings import ProcessSettings


class WebSettings(ProcessSettings):
    # An empty variable means "not set": compose turns local sign-in off with LOCAL_SIGNIN_KEY_DIR=
    model_config = SettingsConfigDict(extra="ignore", frozen=True, env_parse_none_str="")

    service_name = "web"

    http_port: int = 8005
    # The four services' APIs, called with the signed-in person's token.
    audit_api_url: str
    moderation_api_url: str
    scheduler_api_url: str
    notifications_api_url: str
    api_timeout_seconds: float = 15.0
    organisation_file: Path = DEMO_ORGANISATION_FILE
    # Sessions: a signed cookie, HttpOnly and SameSite=Lax; Secure unless running locally.
    session_secret: SecretStr
    session_idle_minutes: int = 30
    secure_cookies: bool = True
    # Signing in: the council's OpenID Connect issuer in production, or, for local running only,
    # the local stack's token issuer (its key folder), which offers a pick-a-person page.
    oidc_issuer_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    local_signin_key_dir: Path | None = None

    @model_validator(mode="after")
    def _one_way_to_sign_in(self) -> Self:
        oidc = (self.oidc_issuer_url, self.oidc_client_id)
        if all(oidc) == (self.local_signin_key_dir is not None) or any(oidc) != all(oidc):
            raise PydanticCustomError(
                "sign_in",
                "set OIDC_ISSUER_URL and OIDC_CLIENT_ID (the council's identity provider) or, "
                "for local running, LOCAL_SIGNIN_KEY_DIR; exactly one of them",
            )
        return self
