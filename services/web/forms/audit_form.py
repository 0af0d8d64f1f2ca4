"""The *Record an audit* form: what the page reads from a POST, checks, and sends to the API.

Pure: no I/O and no clock of its own. Answers stay as typed (strings, lists of strings) so the
form can show them again; `body` turns checked answers into the JSON of the audit API's
`POST /audits`. Field names are the form's element ids, so an error links straight to its field.
"""

import json
import re
from base64 import b64encode
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from services.web.pages import GRADES
from shared.calendar import UK, uk_day
from shared.events.vocabulary import AuditDomain, AuditKind

Answers = dict[str, Any]
Errors = dict[str, str]

DOMAINS = tuple(domain.value for domain in AuditDomain)
KINDS = tuple(kind.value for kind in AuditKind)
THEMES = (*DOMAINS, "non_resident_parent", "partner_agencies", "smart_plans", "timeliness")
"""The themes the demo audits use (tooling/demo.py): the weak domains and a few of the report's."""
DOMAIN_WORDS = {domain: domain.replace("_", " ") for domain in DOMAINS} | {
    "voice_of_child": "the voice of the child"
}
DATE_PARTS = ("day", "month", "year")
FIRST_POINTS, MAX_POINTS, MAX_THEMES = 3, 20, 20
SINGLE = (
    "case_id",
    "audit_kind",
    "reaudit_of",
    "team_id",
    "practitioner_id",
    *DOMAINS,
    "overall_grade",
    "voice_of_child_evidenced",
    "voice_of_child_note",
    "other_themes",
    *(f"graded_at-{part}" for part in DATE_PARTS),
)
ON_THE_PAGE = (
    *SINGLE[: SINGLE.index("other_themes")],
    "could_be_better_if-1",
    "themes",
    "other_themes",
    "graded_at",
)
"""Every field in page order: the error summary lists problems in this order."""
LINK = {"graded_at": "graded_at-day"}
"""A date's error links to its first input (GOV.UK date-input pattern)."""

CASE_ID = re.compile(r"^CASE-[A-Z0-9]{1,59}$")
REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
THEME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
COOKIE_BUDGET = 3800
"""Bytes of session cookie a browser keeps (4096 with name and attributes), less a margin."""


def blank(today: date) -> Answers:
    """A new form: nothing chosen, three empty learning points, graded today."""
    answers: Answers = dict.fromkeys(SINGLE, "")
    answers |= {"could_be_better_if": [""] * FIRST_POINTS, "themes": []}
    return answers | day_answers(today)


def day_answers(day: date) -> Answers:
    return {
        "graded_at-day": str(day.day),
        "graded_at-month": str(day.month),
        "graded_at-year": str(day.year),
    }


def read(posted: Mapping[str, list[str]]) -> Answers:
    """The answers of a posted form, trimmed; unknown theme codes are dropped."""
    answers: Answers = {name: (posted.get(name) or [""])[0].strip() for name in SINGLE}
    answers["case_id"] = answers["case_id"].upper()
    answers["could_be_better_if"] = [p.strip() for p in posted.get("could_be_better_if", [])]
    answers["themes"] = [theme for theme in posted.get("themes", []) if theme in THEMES]
    return answers


def shown(answers: Answers, extra_point: bool = False) -> Answers:
    """Answers as the form shows them: at least three point inputs, one more when asked."""
    points = list(answers["could_be_better_if"])
    if extra_point and len(points) < MAX_POINTS:
        points.append("")
    return answers | {"could_be_better_if": points + [""] * (FIRST_POINTS - len(points))}


def kept(answers: Answers) -> Answers:
    """Answers as the draft keeps them: empty points and a non-re-audit's reference dropped."""
    reaudit_of = answers["reaudit_of"] if answers["audit_kind"] == AuditKind.REAUDIT else ""
    points = [point for point in answers["could_be_better_if"] if point]
    return answers | {"could_be_better_if": points, "reaudit_of": reaudit_of}


def problems(
    answers: Answers, teams: Collection[str], practitioners: Collection[str], today: date
) -> Errors:
    """What the page can check itself, by field id in page order; the API checks the rest."""
    found = _reference_problems(answers)
    if answers["team_id"] and answers["team_id"] not in teams:
        found["team_id"] = "Select a team from the list"
    if answers["practitioner_id"] and answers["practitioner_id"] not in practitioners:
        found["practitioner_id"] = "Select a practitioner from the list"
    found |= _grade_problems(answers)
    found |= _point_problems(answers)
    found |= _theme_problems(answers)
    if (problem := _date_problem(answers, today)) is not None:
        found["graded_at"] = problem
    return found


def _reference_problems(answers: Answers) -> Errors:
    found: Errors = {}
    if not answers["case_id"]:
        found["case_id"] = "Enter the case reference"
    elif not CASE_ID.match(answers["case_id"]):
        found["case_id"] = "Enter the case reference in the form CASE-000123"
    if answers["audit_kind"] not in KINDS:
        found["audit_kind"] = "Select the kind of audit"
    elif answers["audit_kind"] == AuditKind.REAUDIT and not answers["reaudit_of"]:
        found["reaudit_of"] = "Enter the reference of the audit this re-audits"
    elif answers["audit_kind"] == AuditKind.REAUDIT and not REFERENCE.match(answers["reaudit_of"]):
        found["reaudit_of"] = "Enter the audit reference as it was given, like AUD-1a2b3c4d5e6f7a8b"
    return found


def _grade_problems(answers: Answers) -> Errors:
    found = {
        domain: f"Select the grade for {DOMAIN_WORDS[domain]}"
        for domain in DOMAINS
        if answers[domain] not in GRADES
    }
    if answers["overall_grade"] not in GRADES:
        found["overall_grade"] = "Select the overall grade"
    if answers["voice_of_child_evidenced"] not in ("yes", "no"):
        found["voice_of_child_evidenced"] = "Select whether the voice of the child is evidenced"
    if len(answers["voice_of_child_note"]) > 2000:
        found["voice_of_child_note"] = "The note must be 2000 characters or fewer"
    return found


def _point_problems(answers: Answers) -> Errors:
    found: Errors = {}
    for number, point in enumerate(answers["could_be_better_if"], start=1):
        if len(point) > 1000:
            found[f"could_be_better_if-{number}"] = (
                f"Learning point {number} must be 1000 characters or fewer"
            )
    if len([point for point in answers["could_be_better_if"] if point]) > MAX_POINTS:
        found["could_be_better_if-1"] = f"Enter up to {MAX_POINTS} learning points"
    return found


def _theme_problems(answers: Answers) -> Errors:
    found: Errors = {}
    other = _split_themes(answers["other_themes"])
    if any(not THEME.match(theme) for theme in other):
        found["other_themes"] = "Enter other themes as words separated by commas, like smart plans"
    elif len(themes_of(answers)) > MAX_THEMES:
        found["other_themes"] = f"Choose up to {MAX_THEMES} themes"
    return found


def graded_day(answers: Answers) -> date | None:
    """The date graded, or None when it is not a real date."""
    parts = [answers[f"graded_at-{part}"] for part in DATE_PARTS]
    if not all(part.isdigit() for part in parts) or len(parts[2]) != 4:
        return None
    day, month, year = (int(part) for part in parts)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _date_problem(answers: Answers, today: date) -> str | None:
    missing = [part for part in DATE_PARTS if not answers[f"graded_at-{part}"]]
    if len(missing) == len(DATE_PARTS):
        return "Enter the date the audit was graded"
    if missing:
        return f"The date graded must include a {' and a '.join(missing)}"
    day = graded_day(answers)
    if day is None:
        return "The date graded must be a real date"
    if day > today:
        return "The date graded must be today or in the past"
    return None


def graded_at(day: date, now: datetime) -> str:
    """The API's `graded_at`: now when graded today, else 12:00 UK time of that day; in UTC."""
    moment = now if day == uk_day(now) else datetime.combine(day, time(12), tzinfo=UK)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _split_themes(text: str) -> list[str]:
    return [
        re.sub(r"\s+", "_", theme.strip().lower()) for theme in text.split(",") if theme.strip()
    ]


def themes_of(answers: Answers) -> list[str]:
    """The ticked themes, then the typed ones, each once."""
    return list(dict.fromkeys([*answers["themes"], *_split_themes(answers["other_themes"])]))


def body(
    answers: Answers, auditor_id: str, graded_at: str, confirmed: Collection[str] = ()
) -> dict[str, Any]:
    """The JSON of `POST /audits` for checked answers and the warnings the auditor confirmed."""
    return {
        "case_id": answers["case_id"],
        "audit_kind": answers["audit_kind"],
        "reaudit_of": answers["reaudit_of"] or None,
        "team_id": answers["team_id"] or None,
        "practitioner_id": answers["practitioner_id"] or None,
        "auditor_id": auditor_id,
        "domain_grades": {domain: answers[domain] for domain in DOMAINS},
        "overall_grade": answers["overall_grade"],
        "voice_of_child": {
            "evidenced": answers["voice_of_child_evidenced"] == "yes",
            "note": answers["voice_of_child_note"] or None,
        },
        "could_be_better_if": [point for point in answers["could_be_better_if"] if point],
        "themes": themes_of(answers),
        "graded_at": graded_at,
        "confirmed": list(dict.fromkeys(confirmed)),
    }


def next_draft(
    old: Mapping[str, Any] | None, answers: Answers, at: str, fresh_key: str
) -> dict[str, Any]:
    """The draft to keep: one Idempotency-Key per audit, so sending it twice makes one audit.

    A draft not yet sent keeps its key whatever changes; a sent one is the same audit again
    only when nothing changed, and anything else is a new audit with a new key.
    """
    if old is not None and old.get("submitted") and old["answers"] == answers:
        return dict(old)
    key = old["key"] if old is not None and not old.get("submitted") else fresh_key
    return {"key": key, "answers": answers, "graded_at": at, "submitted": None}


def fits_in_cookie(session: Mapping[str, Any], key: str, draft: Mapping[str, Any]) -> bool:
    """Whether the session, with the draft in it, still fits the cookie that carries it."""
    encoded = b64encode(json.dumps({**session, key: draft}).encode())
    return len(encoded) <= COOKIE_BUDGET


def too_long(answers: Answers) -> Errors:
    field = "voice_of_child_note" if answers["voice_of_child_note"] else "could_be_better_if-1"
    return {field: "The note and the learning points are too long to check: shorten them"}


FRIENDLIER = (
    ("team_id", "required", "Select the team: the case management system does not know this case"),
    ("team_id", "unknown team", "Select a team from the list"),
    (
        "practitioner_id",
        "required",
        "Select the practitioner: the case management system does not know this case",
    ),
    ("practitioner_id", "is not in team", "Select a practitioner of the team that holds the case"),
    (
        "team_manager_id",
        "is not in team",
        "The case management system names a team manager of another team: check the team",
    ),
    ("reaudit_of", "required", "Enter the reference of the audit this re-audits"),
    ("reaudit_of", "no audit", "There is no audit with that reference"),
    ("reaudit_of", "is for another case", "That audit is for another case: check both references"),
    (
        "reaudit_of",
        "has no follow-up waiting",
        "That audit has no follow-up waiting for a re-audit: only an Inadequate audit is "
        "re-audited, after its reflective conversation",
    ),
    (
        "reaudit_of",
        "is not recorded yet",
        "The reflective conversation on that audit is not recorded yet: you can record the "
        "re-audit once the Head of Service has recorded it",
    ),
    ("reaudit_of", "is closed", "That audit's follow-up is closed: it needs no re-audit"),
    ("graded_at", "must not be in the future", "The date graded must be today or in the past"),
    ("graded_at", "within the last year", "The date graded must be within the last year"),
    (
        "auditor_id",
        "not eligible to audit",
        "You cannot record audits: auditors are trained, at team manager level or above",
    ),
    (
        "auditor_id",
        "you manage the team",
        "You manage the team that holds this case: an auditor from another team records it",
    ),
    (
        "auditor_id",
        "you work in team",
        "You work in the team that holds this case: auditors audit other teams' work",
    ),
    (
        "auditor_id",
        "is assigned to",
        "This re-audit is assigned to another auditor: only they can record it, unless an "
        "assistant director reassigns it to you",
    ),
    ("Idempotency-Key", "", "You already recorded this audit with other answers: start again"),
)
"""The API's field messages in the page's words: (field, part of the message, words)."""
FROM_THE_API = {
    "evidenced": "voice_of_child_evidenced",
    "note": "voice_of_child_note",
    "domain_grades": DOMAINS[0],
    "could_be_better_if": "could_be_better_if-1",
    "themes": "other_themes",
}


def api_problems(fields: Mapping[str, str]) -> Errors:
    """The API's 422 field messages, in words, against the form's fields in page order."""
    found: Errors = {}
    for name, message in fields.items():
        found.setdefault(FROM_THE_API.get(name, name), _in_words(name, message))
    place = {field: number for number, field in enumerate(("auditor_id", *ON_THE_PAGE))}
    return dict(sorted(found.items(), key=lambda item: place.get(item[0], len(place))))


def _in_words(name: str, message: str) -> str:
    for field, part, words in FRIENDLIER:
        if field == name and part in message:
            return words
    return message[:1].upper() + message[1:]


WARNED_FIELDS = {
    "overall_grade": "Overall grade",
    "voice_of_child.note": "Note on the voice of the child",
}
POINT = re.compile(r"^could_be_better_if\[(\d+)\]$")


def warning_labels(fields: Collection[str]) -> dict[str, str]:
    """The words for each field the audit API warns about (its 422 `needs_confirmation`)."""
    labels = {name: WARNED_FIELDS[name] for name in fields if name in WARNED_FIELDS}
    for name in fields:
        if (point := POINT.match(name)) is not None:
            labels[name] = f"Learning point {int(point.group(1)) + 1}"
    return labels


def error_list(errors: Errors) -> list[dict[str, str]]:
    """The error summary's items: each links to its field; a problem of no field links nowhere."""
    fields = set(ON_THE_PAGE) | {f"could_be_better_if-{n}" for n in range(1, MAX_POINTS + 1)}
    return [
        {"text": message, "href": f"#{LINK.get(field, field)}"}
        if field in fields
        else {"text": message}
        for field, message in errors.items()
    ]
