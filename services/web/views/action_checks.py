"""The checks of a re-audit: whether each action agreed at the reflective conversation made a
difference (verified or not achieved), chosen on the audit form and posted once it is recorded."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.web.clients.api import ApiError
from services.web.clients.backends import Backends
from services.web.views.actions import action_plan

AWAITING_CHECK = ("done",)
"""An action the re-audit's auditor says verified or not achieved of: one marked done (an open
one holds the follow-up until it is done or cancelled)."""
OUTCOMES = ("verified", "not_achieved")


@dataclass(frozen=True)
class ReauditChecks:
    """The actions of the follow-up a re-audit closes (None when the scheduler cannot say just
    now), and what the auditor chose for each one awaiting its check."""

    actions: list[dict[str, Any]] | None = field(default_factory=list)
    chosen: Mapping[str, str] = field(default_factory=dict)

    @property
    def awaiting(self) -> list[dict[str, Any]]:
        return awaiting_check(self.actions or [])

    @property
    def still_open(self) -> list[dict[str, Any]]:
        return [action for action in self.actions or [] if action["status"] == "open"]


def actions_of_reaudit(services: Backends, reaudit_of: str) -> list[dict[str, Any]] | None:
    """The actions agreed on the follow-up waiting for this re-audit, or None when the
    scheduler cannot say; none for an audit with no such follow-up."""
    try:
        waiting = [
            followup
            for followup in services.scheduler.followups(audit_id=reaudit_of)
            if followup.get("audit_id") == reaudit_of
            and followup["status"] == "open"
            and followup["step"] == "reaudit"
        ]
    except ApiError as failure:
        if failure.status == 401:
            raise
        return None
    found: list[dict[str, Any]] = []
    for followup in waiting:
        plan = action_plan(services, followup["id"])
        if plan is None:
            return None
        found += plan
    return found


def awaiting_check(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [action for action in actions if action["status"] in AWAITING_CHECK]


CHECK_PREFIX = "verify-"


def check_field(action_id: str) -> str:
    """The name and id of an action's radios on the audit form."""
    return f"{CHECK_PREFIX}{action_id}"


def checks_chosen(posted: Mapping[str, list[str]], actions: list[dict[str, Any]]) -> dict[str, str]:
    """What the auditor chose for each action awaiting its check: verified or not achieved."""
    chosen = {}
    for action in awaiting_check(actions):
        answer = (posted.get(check_field(action["id"])) or [""])[0]
        if answer in OUTCOMES:
            chosen[action["id"]] = answer
    return chosen


def check_problems(actions: list[dict[str, Any]], chosen: Mapping[str, str]) -> dict[str, str]:
    """Each action awaiting its check needs an answer, by its radios' id."""
    return {
        check_field(action["id"]): f"Select whether agreed action {number} made a difference"
        for number, action in enumerate(awaiting_check(actions), start=1)
        if action["id"] not in chosen
    }


def check_request_id(audit_key: str, action_id: str, outcome: str) -> str:
    """One request per audit, action and outcome: sending a check again replays it."""
    digest = hashlib.sha256(f"{audit_key}|{action_id}|{outcome}".encode()).hexdigest()
    return f"check-{digest[:40]}"


def record_checks(
    services: Backends, chosen: Mapping[str, str], reaudit_id: str, key: str, by: str
) -> dict[str, str]:
    """Post each check of a recorded re-audit; what was not recorded, with why, by action."""
    failed = {}
    for action_id, outcome in chosen.items():
        body = {
            "verified_by": by,
            "outcome": outcome,
            "reaudit_id": reaudit_id,
            "request_id": check_request_id(key, action_id, outcome),
        }
        try:
            services.scheduler.verify_action(action_id, body)
        except ApiError as refused:
            if refused.status == 401:
                raise
            failed[action_id] = refusal_words(refused)
    return failed


def refusal_words(refused: ApiError) -> str:
    """An API's refusal as one sentence."""
    if refused.status in (403, 409, 422):
        words = "; ".join(refused.fields.values()) or refused.detail
        return words[:1].upper() + words[1:]
    return "The scheduler could not be reached: try again in a few minutes"
