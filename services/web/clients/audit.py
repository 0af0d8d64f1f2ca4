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

    def target(self, month: str | None = None) -> dict[str, Any]:
        """The month's audits against the target (this month when none is given)."""
        found: dict[str, Any] = self._api.get("/stats/target", {"month": month})
        return found

    def monthly_stats(self, from_month: str, to_month: str, by: str) -> dict[str, Any]:
        """Grades, grades by domain and themes per month and group, zero-filled, small numbers
        hidden below a service area: {"grades", "domains", "themes", "threshold", ...}."""
        found: dict[str, Any] = self._api.get(
            "/stats/monthly", {"from_month": from_month, "to_month": to_month, "by": by}
        )
        return found

    def learning(self, month: str) -> list[dict[str, Any]]:
        """The month's learning audits with their themes and "could be better if" points."""
        found: list[dict[str, Any]] = self._api.get("/stats/learning", {"month": month})
        return found

    # --- the monthly programme (issue 17) ----------------------------------------------------

    def programmes(self) -> list[dict[str, Any]]:
        """The months drawn, newest first."""
        found: list[dict[str, Any]] = self._api.get("/programmes")
        return found

    def programme(self, month: str) -> dict[str, Any]:
        found: dict[str, Any] = self._api.get(f"/programmes/{month}")
        return found

    def draw_programme(self, body: dict[str, Any]) -> dict[str, Any]:
        drawn: dict[str, Any] = self._api.send("POST", "/programmes", body)
        return drawn

    def programme_stats(self, month: str) -> dict[str, Any]:
        found: dict[str, Any] = self._api.get("/stats/programme", {"month": month})
        return found

    def allocations(
        self, *, limit: int | None = None, offset: int = 0, **filters: Any
    ) -> list[dict[str, Any]]:
        """One page of the allocations the person may see."""
        found: list[dict[str, Any]] = self._api.get(
            "/allocations", {**filters, "limit": limit, "offset": offset or None}
        )
        return found

    def allocation(self, allocation_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._api.get(f"/allocations/{allocation_id}")
        return found

    def save_draft(self, allocation_id: str, body: dict[str, Any]) -> dict[str, Any]:
        saved: dict[str, Any] = self._api.send("PUT", f"/allocations/{allocation_id}/draft", body)
        return saved

    def add_reflection(self, allocation_id: str, body: dict[str, Any]) -> dict[str, Any]:
        added: dict[str, Any] = self._api.send(
            "POST", f"/allocations/{allocation_id}/reflections", body
        )
        return added

    def submit_allocation(
        self, allocation_id: str, body: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        """The allocated audit, recorded: {"allocation": ..., "audit": ...}."""
        stored: dict[str, Any] = self._api.send(
            "POST",
            f"/allocations/{allocation_id}/submit",
            body,
            headers={"Idempotency-Key": idempotency_key},
        )
        return stored

    def decline_allocation(self, allocation_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """{"declined": ..., "reallocated": ... or None}."""
        answer: dict[str, Any] = self._api.send(
            "POST", f"/allocations/{allocation_id}/decline", body
        )
        return answer

    def exempt_allocation(self, allocation_id: str, body: dict[str, Any]) -> dict[str, Any]:
        exempted: dict[str, Any] = self._api.send(
            "POST", f"/allocations/{allocation_id}/exempt", body
        )
        return exempted
