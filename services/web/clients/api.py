"""The HTTP mechanism every client uses."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class ApiError(Exception):
    """The API refused or failed: its status, its sentence, and field messages for a 422."""

    status: int
    detail: str
    fields: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}"


class Api:
    """One service's API, called as one person."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        wanted = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return self._answer(self._request("GET", path, params=wanted))

    def send(
        self, method: str, path: str, body: Any, headers: Mapping[str, str] | None = None
    ) -> Any:
        return self._answer(self._request(method, path, json=body, headers=headers))

    def _request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """A service that is down or too slow is an ApiError too (503), shown as a page."""
        try:
            return self._client.request(method, path, **options)
        except httpx.HTTPError as exc:
            raise ApiError(503, f"the service did not answer ({type(exc).__name__})") from exc

    def close(self) -> None:
        self._client.close()

    @staticmethod
    def _answer(response: httpx.Response) -> Any:
        if response.is_success:
            return response.json() if response.content else None
        try:
            detail: Any = response.json().get("detail", response.reason_phrase)
        except ValueError:
            detail = response.reason_phrase
        if isinstance(detail, list):  # FastAPI's 422: one entry per field
            fields = {str(e["loc"][-1]): str(e["msg"]) for e in detail if e.get("loc")}
            raise ApiError(response.status_code, "Some answers need changing", fields)
        raise ApiError(response.status_code, str(detail))
