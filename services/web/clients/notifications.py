"""The notifications service's API: a person's inbox and preferences."""

from typing import Any

from services.web.clients.api import Api


class NotificationsClient:
    def __init__(self, api: Api) -> None:
        self._api = api

    def inbox(self, staff_id: str, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """One page of the person's inbox, newest first, and how many are unread in all."""
        found: dict[str, Any] = self._api.get(
            f"/inbox/{staff_id}", {"limit": limit, "offset": offset}
        )
        return found

    def mark_read(self, notification_id: str) -> dict[str, Any]:
        item: dict[str, Any] = self._api.send("POST", f"/inbox/{notification_id}/read", None)
        return item

    def preferences(self, staff_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._api.get(f"/preferences/{staff_id}")
        return found

    def set_preferences(self, staff_id: str, information: str) -> dict[str, Any]:
        changed: dict[str, Any] = self._api.send(
            "PUT", f"/preferences/{staff_id}", {"information": information}
        )
        return changed
