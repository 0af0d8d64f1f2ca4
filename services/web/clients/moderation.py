"""The moderation service's API."""

from typing import Any

from services.web.clients.api import Api

PAGE = 500  # the API's largest page


class ModerationClient:
    def __init__(self, api: Api) -> None:
        self._api = api

    def moderations(self, **filters: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._api.get("/moderations", filters)
        return found

    def outstanding(self, month: str) -> list[dict[str, Any]]:
        """Every moderation of the month that flagged outstanding practice, a page at a time."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.moderations(
                outstanding="true", month=month, limit=PAGE, offset=len(found) or None
            )
            found += page
            if len(page) < PAGE:
                return found

    def moderation(self, moderation_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._api.get(f"/moderations/{moderation_id}")
        return found

    def record(self, moderation_id: str, body: dict[str, Any]) -> dict[str, Any]:
        stored: dict[str, Any] = self._api.send("POST", f"/moderations/{moderation_id}", body)
        return stored

    def consistency(self, from_month: str, to_month: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._api.get(
            "/stats/consistency", {"from_month": from_month, "to_month": to_month}
        )
        return found

    def rates(self) -> dict[str, float]:
        found: dict[str, float] = self._api.get("/sampling")
        return found

    def set_rate(self, service_area: str, rate: float, changed_by: str) -> dict[str, float]:
        changed: dict[str, float] = self._api.send(
            "PUT", f"/sampling/{service_area}", {"rate": rate, "changed_by": changed_by}
        )
        return changed
