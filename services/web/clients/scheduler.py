"""The scheduler's API: follow-ups, their agreed actions, and their timeliness."""

from typing import Any

from services.web.clients.api import Api


class SchedulerClient:
    def __init__(self, api: Api) -> None:
        self._api = api

    def followups(
        self, *, limit: int | None = None, offset: int = 0, **filters: Any
    ) -> list[dict[str, Any]]:
        """One page of the follow-ups the person may see (the API's own page size when no
        `limit` is given), soonest due first."""
        found: list[dict[str, Any]] = self._api.get(
            "/followups", {**filters, "limit": limit, "offset": offset or None}
        )
        return found

    def followup(self, followup_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._api.get(f"/followups/{followup_id}")
        return found

    def record_conversation(self, followup_id: str, body: dict[str, Any]) -> dict[str, Any]:
        stored: dict[str, Any] = self._api.send(
            "POST", f"/followups/{followup_id}/reflective-conversation", body
        )
        return stored

    def timeliness(self, from_month: str, to_month: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._api.get(
            "/stats/timeliness", {"from_month": from_month, "to_month": to_month}
        )
        return found

    def actions(
        self, *, limit: int | None = None, offset: int = 0, **filters: Any
    ) -> list[dict[str, Any]]:
        """One page of the actions the person may see, soonest due first; `overdue=True` asks
        for the overdue ones only."""
        overdue = "true" if filters.pop("overdue", False) else None
        found: list[dict[str, Any]] = self._api.get(
            "/actions", {**filters, "overdue": overdue, "limit": limit, "offset": offset or None}
        )
        return found

    def action(self, action_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._api.get(f"/actions/{action_id}")
        return found

    def update_action(self, action_id: str, body: dict[str, Any]) -> dict[str, Any]:
        changed: dict[str, Any] = self._api.send("POST", f"/actions/{action_id}", body)
        return changed

    def verify_action(self, action_id: str, body: dict[str, Any]) -> dict[str, Any]:
        verified: dict[str, Any] = self._api.send(
            "POST", f"/actions/{action_id}/verification", body
        )
        return verified

    def action_stats(self, from_month: str, to_month: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._api.get(
            "/stats/actions", {"from_month": from_month, "to_month": to_month}
        )
        return found
