"""The conversation form's agreed actions: each row as typed (what, owner, due date), checked,
and the scheduler's names for them (`agreed_actions[1].due_on`) turned into the form's rows."""

import re
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel

from services.web.views.actions import due_date_problem, typed_date

# The scheduler's limits on a conversation's agreed actions, checked here to say so in words.
MAX_ACTIONS, MAX_ACTION_LENGTH = 20, 500
FIRST_ACTIONS = 3
"""Rows the form shows before "Add another action"."""
PARTS = ("what", "owner_id", "due_on-day", "due_on-month", "due_on-year")
"""The inputs of one row, in the order of `AgreedAction`'s fields."""


def action_field(number: int, part: str) -> str:
    """The form's name of one part of agreed action `number` (from 1), also its element id."""
    return f"action-{number}-{part}"


class AgreedAction(BaseModel):
    """One agreed action as typed: what, who owns it, and its due date (empty for the default)."""

    what: str = ""
    owner_id: str = ""
    day: str = ""
    month: str = ""
    year: str = ""

    @classmethod
    def posted(cls, form: Mapping[str, list[str]], number: int) -> "AgreedAction":
        """Row `number` of a posted form, trimmed."""
        typed = [(form.get(action_field(number, part)) or [""])[0].strip() for part in PARTS]
        return cls.model_validate(dict(zip(cls.model_fields, typed, strict=True)))

    @property
    def blank(self) -> bool:
        return not (self.what.strip() or self.day or self.month or self.year)

    def due_on(self) -> date | None:
        return typed_date(self.day, self.month, self.year)

    def body(self) -> dict[str, Any]:
        due = self.due_on()
        return {
            "what": self.what.strip(),
            "owner_id": self.owner_id,
            "due_on": due.isoformat() if due is not None else None,
        }

    def problems(self, number: int, owners: Collection[str], today: date) -> dict[str, str]:
        errors: dict[str, str] = {}
        what = self.what.strip()
        if not what:
            errors[action_field(number, "what")] = (
                f"Enter agreed action {number}, or clear its due date"
            )
        elif len(what) > MAX_ACTION_LENGTH:
            errors[action_field(number, "what")] = (
                f"Agreed action {number} must be {MAX_ACTION_LENGTH} characters or fewer"
            )
        if self.owner_id not in owners:
            errors[action_field(number, "owner_id")] = f"Select who owns agreed action {number}"
        words = f"The due date of agreed action {number}"
        if problem := due_date_problem(self.day, self.month, self.year, today, words):
            errors[action_field(number, "due_on-day")] = problem
        return errors


AGREED_ITEM = re.compile(r"^agreed_actions\[(\d+)\](?:\.(what|owner_id|due_on))?$")
"""The API's name of an agreed action or one of its parts: `agreed_actions[1].due_on`."""


def form_place(name: str, numbers: list[int]) -> tuple[int, str] | None:
    """The form's row number and part of the API's field `name`, if it names an agreed action."""
    found = AGREED_ITEM.match(name)
    if found is None or int(found.group(1)) >= len(numbers):
        return None
    part = found.group(2) or "what"
    return numbers[int(found.group(1))], "due_on-day" if part == "due_on" else part


def action_labels(fields: Iterable[str], numbers: list[int]) -> dict[str, str]:
    """`agreed_actions[1]` is the second action sent, which may be row 3 of the form."""
    labels = {}
    for name in fields:
        if (item := form_place(name, numbers)) is not None:
            labels[name] = f"Agreed action {item[0]}"
    return labels
