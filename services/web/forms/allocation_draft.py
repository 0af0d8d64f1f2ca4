"""An allocated audit's form: the *Record an audit* answers saved as a draft, several times,
then submitted. Pure, like `audit_form`, whose answers (strings as typed) it reuses.

A draft may be half done: `draft_body` sends only what is answered (the audit API's
`PUT /allocations/{id}/draft` takes every field as optional), and `answers_of` turns the draft
the API kept back into the form's answers. The case, its team and practitioner come from the
allocation, never from the page.
"""

from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

from services.web.forms import audit_form
from services.web.forms.audit_form import DOMAINS, THEMES, Answers, Errors
from services.web.pages import GRADES
from shared.calendar import uk_day
from shared.events.vocabulary import AuditKind


def for_allocation(answers: Answers, allocation: Mapping[str, Any]) -> Answers:
    """The answers as an audit of the allocated case: a learning audit of its case, with its team
    and practitioner left to the case register (the allocation may be older than a move)."""
    return answers | {
        "case_id": allocation["case_id"],
        "audit_kind": AuditKind.LEARNING.value,
        "reaudit_of": "",
        "team_id": "",
        "practitioner_id": "",
    }


def answers_of(
    draft: Mapping[str, Any] | None, allocation: Mapping[str, Any], today: date
) -> Answers:
    """The form's answers from the draft last saved (a blank form, graded today, if none)."""
    answers = audit_form.blank(today)
    draft = draft or {}
    grades = draft.get("domain_grades") or {}
    for domain in DOMAINS:
        if grades.get(domain) in GRADES:
            answers[domain] = grades[domain]
    if draft.get("overall_grade") in GRADES:
        answers["overall_grade"] = draft["overall_grade"]
    voice = draft.get("voice_of_child") or {}
    if isinstance(voice.get("evidenced"), bool):
        answers["voice_of_child_evidenced"] = "yes" if voice["evidenced"] else "no"
    answers["voice_of_child_note"] = voice.get("note") or ""
    answers["could_be_better_if"] = [str(p) for p in draft.get("could_be_better_if") or []]
    themes = [str(theme) for theme in draft.get("themes") or []]
    answers["themes"] = [theme for theme in themes if theme in THEMES]
    answers["other_themes"] = ", ".join(
        theme.replace("_", " ") for theme in themes if theme not in THEMES
    )
    if draft.get("graded_at"):
        answers |= audit_form.day_answers(uk_day(datetime.fromisoformat(draft["graded_at"])))
    return audit_form.shown(for_allocation(answers, allocation))


def draft_problems(answers: Answers, today: date) -> Errors:
    """What a draft may not hold, though it may leave anything out: the form's limits, a date
    that is not a real one, and a note on the child's voice without the answer it is about."""
    found: Errors = {}
    if len(answers["voice_of_child_note"]) > 2000:
        found["voice_of_child_note"] = "The note must be 2000 characters or fewer"
    elif answers["voice_of_child_note"] and answers["voice_of_child_evidenced"] not in (
        "yes",
        "no",
    ):
        found["voice_of_child_evidenced"] = (
            "Select whether the voice of the child is evidenced, to save the note with it"
        )
    whole = audit_form.problems(answers, (), (), today)
    for field, message in whole.items():
        if field.startswith(("could_be_better_if", "other_themes")):
            found[field] = message
    if any(answers[f"graded_at-{part}"] for part in audit_form.DATE_PARTS) and "graded_at" in whole:
        found["graded_at"] = whole["graded_at"]
    return dict(sorted(found.items(), key=lambda item: _page_place(item[0])))


def _page_place(field: str) -> int:
    order = list(audit_form.ON_THE_PAGE)
    if field.startswith("could_be_better_if"):
        return order.index("could_be_better_if-1")
    return order.index(field) if field in order else len(order)


def draft_body(
    answers: Answers, graded_at: str | None, confirmed: Collection[str] = ()
) -> dict[str, Any]:
    """The JSON of `PUT /allocations/{id}/draft`: only what is answered; `graded_at` as
    `audit_form.graded_at` gives it, or None when no real date is typed."""
    body: dict[str, Any] = {}
    grades = {domain: answers[domain] for domain in DOMAINS if answers[domain] in GRADES}
    if grades:
        body["domain_grades"] = grades
    if answers["overall_grade"] in GRADES:
        body["overall_grade"] = answers["overall_grade"]
    if answers["voice_of_child_evidenced"] in ("yes", "no"):
        body["voice_of_child"] = {
            "evidenced": answers["voice_of_child_evidenced"] == "yes",
            "note": answers["voice_of_child_note"] or None,
        }
    if points := [point for point in answers["could_be_better_if"] if point]:
        body["could_be_better_if"] = points
    if themes := audit_form.themes_of(answers):
        body["themes"] = themes
    if graded_at is not None:
        body["graded_at"] = graded_at
    if confirmed:
        body["confirmed"] = list(dict.fromkeys(confirmed))
    return body


def submit_body(
    answers: Answers,
    auditor_id: str,
    graded_at: str,
    took_part: Collection[str],
    confirmed: Collection[str] = (),
) -> dict[str, Any]:
    """The JSON of `POST /allocations/{id}/submit`: the full audit form, as `POST /audits`
    takes it, and who took part besides the auditor."""
    return audit_form.body(answers, auditor_id, graded_at, confirmed) | {
        "took_part": list(dict.fromkeys(took_part))
    }
