"""The web front in-process, with fake clients behind its own port (`backends`), for page tests.

Pages are asserted on what a person sees: headings, links, error summaries, table cells.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from services.web.app import create_app
from services.web.clients.backends import Backends, backends
from services.web.settings import WebSettings
from tests.tokens import ISSUER


def web_settings(**changes: Any) -> WebSettings:
    values: dict[str, Any] = {
        "audit_api_url": "http://audit.invalid",
        "moderation_api_url": "http://moderation.invalid",
        "scheduler_api_url": "http://scheduler.invalid",
        "notifications_api_url": "http://notifications.invalid",
        "session_secret": "a-test-secret-of-enough-length",
        "secure_cookies": False,
        "local_signin_key_dir": ISSUER.folder,
    }
    return WebSettings(**(values | changes))


@dataclass
class FakeBackends:
    """Canned answers per client method; `calls` records what each page asked for."""

    answers: dict[str, Any] = field(default_factory=dict)
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)

    def client(self, area: str) -> Any:
        fake = self

        class Client:
            def __getattr__(self, method: str) -> Any:
                def call(*args: Any, **kwargs: Any) -> Any:
                    fake.calls.append((f"{area}.{method}", args, kwargs))
                    answer = fake.answers.get(f"{area}.{method}")
                    if isinstance(answer, Exception):
                        raise answer
                    return answer(*args, **kwargs) if callable(answer) else answer

                return call

        return Client()

    def backends(self) -> Backends:
        return Backends(
            *(self.client(a) for a in ("audit", "moderation", "scheduler", "notifications"))
        )


@contextmanager
def web(fakes: FakeBackends | None = None, **settings: Any) -> Iterator[TestClient]:
    fakes = fakes or FakeBackends({"notifications.inbox": {"unread": 0, "items": []}})
    app = create_app(web_settings(**settings))
    app.dependency_overrides[backends] = fakes.backends
    with TestClient(app, follow_redirects=False) as client:
        yield client


def page(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def csrf(client: TestClient, path: str = "/sign-in") -> str:
    found = page(client.get(path)).find("input", {"name": "csrf_token"})
    assert found is not None, f"no CSRF field on {path}"
    return str(found["value"])


def sign_in(client: TestClient, staff_id: str) -> None:
    answer = client.post("/sign-in", data={"staff_id": staff_id, "csrf_token": csrf(client)})
    assert answer.status_code == 303, answer.text


def text(soup: BeautifulSoup, selector: str) -> str:
    found = soup.select_one(selector)
    assert found is not None, f"nothing matches {selector}"
    return re.sub(r"\s+", " ", found.get_text()).strip()
