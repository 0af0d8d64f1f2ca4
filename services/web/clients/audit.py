"""The audit service's API."""

from typing import Any

from services.web.clients.api import Api


class AuditClient:
    def __init__(self, api: Api) -> None:
        self._api = api

    def audit(self, audit_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._api.get(f"/audits/{audit_id}")
        return found

    def audits(self, **filters: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._api.get("/audits", filters)
        return found

    def submit(self, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        stored: dict[str, Any] = self._api.send(
            "POST", "/audits", body, headers={"Idempotency-Key": idempotency_key}
        )
        return stored

    def grade_stats(self, from_month: str, to_month: str, by: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._api.get(
            "/stats/grades", {"from_month": from_month, "to_month": to_month, "by": by}
        )
        return found

    def target(self) -> dict[str, Any]:
        found: dict[str, Any] = self._api.get("/stats/target")
        return found
