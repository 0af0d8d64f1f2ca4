"""The HTTP mechanism every client uses."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

NEEDS_CONFIRMATION = "needs_confirmation"
"""The 422 entry type of a warning the writer may confirm (shared.confirmations)."""
_HOW_TO_CONFIRM = "; to keep it as it is, confirm "
"""How shared.confirmations ends each warning for API callers; a page offers a box instead."""


@dataclass
class ApiError(Exception):
    """The API refused or failed: its status, its sentence, and field messages for a 422.

    A 422 may also hold warnings rather than refusals: `confirmations` (field -> message) and
    `codes` (field -> the code that confirms it); `fields` has them too, so a page that does not
    offer confirming still shows them. Sending the same request again with those codes in
    `confirmed` keeps what was written.
    """

    status: int
    detail: str
    fields: dict[str, str] = field(default_factory=dict)
    confirmations: dict[str, str] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}"

    @property
    def needs_confirmation(self) -> bool:
        """Only warnings: nothing is wrong that confirming would not settle."""
        return bool(self.codes) and set(self.fields) <= set(self.codes)

    def to_confirm(self, labels: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """The warnings by code, for the `confirm_warnings` macro of `_macros.html`; each message
        starts with its field's label when `labels` (API field -> words) has one."""
        by_code: dict[str, list[str]] = {}
        for name, code in self.codes.items():
            message = self.confirmations[name]
            label = (labels or {}).get(name)
            message = f"{label}: {message}" if label else message[:1].upper() + message[1:]
            if message not in (messages := by_code.setdefault(code, [])):
                messages.append(message)
        return [{"code": code, "messages": messages} for code, messages in by_code.items()]


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
        # The APIs answer errors as problem documents (shared.errors): `detail` a sentence, and
        # for a 422 `errors`, one entry per field.
        try:
            answer = response.json()
        except ValueError:
            answer = None
        problem = answer if isinstance(answer, dict) else {}
        errors = problem.get("errors")
        if isinstance(errors, list) and errors:
            raise _field_error(response.status_code, errors)
        raise ApiError(response.status_code, str(problem.get("detail") or response.reason_phrase))


def _field_error(status: int, entries: list[Any]) -> ApiError:
    """A 422's entries: refusals by field, and warnings by field with their codes."""
    error = ApiError(status, "Some answers need changing")
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("loc"):
            continue
        # The last step of `loc`, as the pages name their fields (not the dotted `field`).
        name, message = str(entry["loc"][-1]), str(entry.get("msg", ""))
        code = (entry.get("ctx") or {}).get("confirm")
        if entry.get("type") == NEEDS_CONFIRMATION and isinstance(code, str):
            message = message.split(_HOW_TO_CONFIRM)[0]
            error.confirmations[name] = message
            error.codes[name] = code
        error.fields[name] = message
    return error
