"""What a person is told about a field that fails validation: one phrase, made here only.

Built from pydantic's error `type` and `ctx`, never from the input: a refused text may hold what
a child's record holds, so its length is said, not the text. A pattern is described by what a
value should look like (`PATTERN_RULES`), never shown as a regular expression, and dates name
ISO 8601 with an example. Each phrase follows the field's name: "case_id: is required".
"""

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
MONTH_PATTERNS = (r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", r"^[0-9]{4}-(0[1-9]|1[0-2])$")

ID_CHARACTERS = "letters, digits, '.', '_', ':' and '-' only, starting with a letter or digit"
IDS_LOOK_LIKE = {
    "case_id": "a case reference looks like CASE-000123",
    "audit_id": "an audit id looks like AUD-3f0c2a9e6b1d4f5e",
    "reaudit_id": "an audit id looks like AUD-3f0c2a9e6b1d4f5e",
    "moderation_id": "a moderation id looks like MOD-3f0c2a9e6b1d4f5e",
    "followup_id": "a follow-up id looks like FU-3f0c2a9e6b1d4f5e",
    "action_id": "an action id looks like ACT-3f0c2a9e6b1d4f5e",
    "team_id": "a team id looks like EH-NORTH",
}
"""What each kind of id looks like, by field name; any other id is a staff id or similar."""
OTHER_ID = "an id looks like S0003 or CASE-000123"

PATTERN_RULES: Mapping[str, str] = {
    **dict.fromkeys(MONTH_PATTERNS, "a month looks like 2026-11 (YYYY-MM, ISO 8601)"),
    r"^[a-z0-9][a-z0-9_-]{0,63}$": "a theme tag looks like voice-of-child: lower-case "
    "letters, digits, '_' and '-'",
    r"^[a-z][a-z0-9_]{0,63}$": "a confirmation code looks like personal_data: send back "
    "the code a needs_confirmation answer gave",
    r"^[A-Z][0-9A-Z]{0,3}$": "a legal status is an SSDA903 code such as C2 or V2",
}
"""Every pattern a field of ours declares (grep `pattern=`), said as a person would say it."""

ISO_DATE = "use an ISO 8601 date like 2026-11-25"
ISO_DATETIME = "use an ISO 8601 date and time like 2026-11-25T14:30:00Z"
_DATES = ("date_type", "date_parsing", "date_from_datetime_parsing")
_DATETIMES = ("datetime_type", "datetime_parsing", "datetime_from_date_parsing")
_TYPES = {
    "string_type": "should be text",
    "int_type": "should be a whole number",
    "int_parsing": "should be a whole number",
    "int_from_float": "should be a whole number",
    "float_type": "should be a number",
    "float_parsing": "should be a number",
    "decimal_parsing": "should be a number",
    "finite_number": "should be a finite number",
    "bool_type": "should be true or false",
    "bool_parsing": "should be true or false",
    "list_type": "should be a list",
    "dict_type": "should be an object of named fields",
    "model_type": "should be an object of named fields",
    "model_attributes_type": "should be an object of named fields",
    "missing": "is required",
    "extra_forbidden": "is not a field this accepts: leave it out",
    "uuid_parsing": "should be a UUID like 3f0c2a9e-6b1d-4f5e-9a47-1c2d3e4f5a6b",
    "uuid_type": "should be a UUID like 3f0c2a9e-6b1d-4f5e-9a47-1c2d3e4f5a6b",
    "json_invalid": "is not valid JSON: check the quotes, commas and brackets",
    "timezone_aware": "needs its time zone, like 2026-11-25T14:30:00Z (Z for UTC) or +00:00",
    "date_from_datetime_inexact": f"should be a day without a time: {ISO_DATE}",
    "date_future": "must be a day in the future",
    "date_past": "must be a day in the past",
}
_BOUNDS = {"greater_than": "more than", "greater_than_equal": "at least"}
_BOUNDS |= {"less_than": "less than", "less_than_equal": "at most"}
_BOUND_KEYS = {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt"}
_BOUND_KEYS |= {"less_than_equal": "le"}
_QUOTED = re.compile(r"'([^']*)'")
CONSTRAINTS = frozenset({"max_length", "min_length", "ge", "gt", "le", "lt", "expected"})
"""The `ctx` keys a field entry keeps: what the rule allows, never what was sent."""


_DAY_FIRST = re.compile(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*")


def _as_iso(given: object) -> str | None:
    """For a day written the British way (25/11/2026), the same day as the API takes it."""
    found = _DAY_FIRST.fullmatch(given) if isinstance(given, str) else None
    if found is None:
        return None
    day, month, year = (int(part) for part in found.groups())
    try:
        return f"use {date(year, month, day).isoformat()} (ISO 8601: year-month-day)"
    except ValueError:
        return None


def field_message(error: Mapping[str, Any]) -> str:
    """The phrase for one pydantic error (as FastAPI reports it), without its input."""
    kind, ctx = str(error.get("type", "")), error.get("ctx") or {}
    name = next((p for p in reversed(error.get("loc", ())) if isinstance(p, str)), "")
    if kind in _TYPES:
        return _TYPES[kind]
    if kind in _DATES:
        return _as_iso(error.get("input")) or ISO_DATE
    if kind in _DATETIMES:
        return ISO_DATETIME
    if kind == "string_pattern_mismatch":
        return looks_like(str(ctx.get("pattern", "")), name)
    if kind in ("string_too_long", "string_too_short", "too_long", "too_short"):
        return _length(kind, error.get("input"), ctx)
    if kind in ("enum", "literal_error"):
        return "should be one of: " + ", ".join(_QUOTED.findall(str(ctx.get("expected", ""))))
    if kind in _BOUNDS:
        return f"must be {_BOUNDS[kind]} {ctx.get(_BOUND_KEYS[kind])}"
    message = str(error.get("msg", "is not acceptable"))
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def looks_like(pattern: str, name: str) -> str:
    """What a value matching `pattern` looks like; for ids, by the field's name."""
    if pattern == IDENTIFIER_PATTERN:
        return f"{IDS_LOOK_LIKE.get(name, OTHER_ID)}: {ID_CHARACTERS}"
    return PATTERN_RULES.get(pattern, "is not in the form this field takes: see its description")


def _length(kind: str, value: Any, ctx: Mapping[str, Any]) -> str:
    """ "is 5,012 characters; at most 4,000": the size sent is counted, never shown."""
    text = kind.startswith("string")
    sent = len(value) if isinstance(value, str | list | tuple | dict) else None
    size = ctx.get("actual_length", sent)
    if "too_long" in kind:
        limit = f"at most {ctx.get('max_length', 0):,}"
    elif size == 0:
        return "must not be empty"
    else:
        limit = f"at least {ctx.get('min_length', 1):,}"
    if not isinstance(size, int):
        return f"should be {limit} {'characters' if text else 'items'}"
    counted = (
        f"{size:,} character{'s' * (size != 1)}" if text else f"{size:,} item{'s' * (size != 1)}"
    )
    return f"{'is' if text else 'has'} {counted}; {limit}"


def constraints(ctx: Mapping[str, Any] | None) -> dict[str, Any]:
    """The rule's own limits from a pydantic `ctx`, as JSON scalars; never the input."""
    kept = {k: v for k, v in (ctx or {}).items() if k in CONSTRAINTS}
    return {k: v if isinstance(v, int | float | str) else str(v) for k, v in kept.items()}
