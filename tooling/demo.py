"""Demo months of audits for `qa run`: generated from a seeded random source, posted over HTTP.

The council report's chart (audit findings April to November 2023) is not in the text we have,
only its shape: "most practice is overall Requires Improvement", moving away from Inadequate
towards Good, with some Outstanding practice shared. GRADE_MIX follows that shape. Each month
is generated from its own seed, so a month's audits are the same whenever they are generated;
each carries an Idempotency-Key, so posting them again adds nothing.
"""

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx

from shared.auth import LocalIssuer
from shared.calendar import UK, WorkingDayCalendar, month_bounds, uk_day
from shared.events.vocabulary import AuditDomain, AuditKind, Grade
from shared.organisation import Organisation, Role, StaffMember, Team

GRADE_MIX: dict[Grade, float] = {
    Grade.OUTSTANDING: 0.04,
    Grade.GOOD: 0.26,
    Grade.REQUIRES_IMPROVEMENT: 0.60,
    Grade.INADEQUATE: 0.10,
}
MONTHS = 4
"""This month and the three before it."""
AUDITS_PER_MONTH = (42, 50)
"""Around the monthly target of 50 learning audits, as a service working towards it would be."""
KIND_WEIGHTS = {AuditKind.LEARNING: 0.88, AuditKind.THEMATIC: 0.07, AuditKind.DIP_SAMPLE: 0.05}

LEARNING: dict[AuditDomain, str] = {
    AuditDomain.ASSESSMENT: "The assessment analyses the impact of the child's lived experience",
    AuditDomain.PLANNING: "The plan is outcome-focused and SMART: who does what by when",
    AuditDomain.VISITS: "Visits record what the child said and how they were seen alone",
    AuditDomain.VOICE_OF_CHILD: "The wishes and feelings of each child in the household are heard",
    AuditDomain.MANAGEMENT_OVERSIGHT: "Supervision records the manager's direction and review",
    AuditDomain.RECORDING: "The case summary is current, so the child could understand it later",
}
EXTRA_THEMES = ("non_resident_parent", "partner_agencies", "smart_plans", "timeliness")


@dataclass(frozen=True)
class DemoAudit:
    """One audit to post: the acting auditor, its Idempotency-Key and the request body."""

    key: str
    auditor_id: str
    body: dict[str, Any]


def demo_audits(organisation: Organisation, now: datetime) -> list[DemoAudit]:
    """The demo audits of the last MONTHS months up to `now` (none in the future), oldest first."""
    first, _ = month_bounds(uk_day(now))
    months = [_months_before(first, back) for back in range(MONTHS - 1, -1, -1)]
    audits = [audit for month in months for audit in _month(organisation, month)]
    past = [audit for audit in audits if audit.body["graded_at"] <= _iso(now)]
    return sorted(past, key=lambda audit: (audit.body["graded_at"], audit.key))


def _months_before(first: date, back: int) -> date:
    for _ in range(back):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def _month(organisation: Organisation, first: date) -> Iterator[DemoAudit]:
    # One seed per month, so a month is the same whenever it is generated; nothing secret.
    rng = random.Random(f"qa-demo:{first:%Y-%m}")  # noqa: S311
    grades = _grades(rng.randint(*AUDITS_PER_MONTH))
    rng.shuffle(grades)
    calendar = WorkingDayCalendar()
    _, last = month_bounds(first)
    days = [first + timedelta(n) for n in range(last.day)]
    days = [day for day in days if calendar.is_working_day(day)]
    for number, grade in enumerate(grades, start=1):
        team = rng.choice(organisation.teams)
        auditor = rng.choice(_auditors(organisation, team)).id
        body = _body(rng, organisation, team, grade, rng.choice(days))
        # A "D" in the case reference marks demo cases apart from any real one.
        body |= {"case_id": f"CASE-D{first:%y%m}{number:03d}", "auditor_id": auditor}
        yield DemoAudit(f"qa-demo-{first:%Y-%m}-{number:03d}", auditor, body)


def _grades(count: int) -> list[Grade]:
    """`count` grades in GRADE_MIX proportions (largest remainder, so they add up)."""
    exact = {grade: count * share for grade, share in GRADE_MIX.items()}
    counts = {grade: int(value) for grade, value in exact.items()}
    by_remainder = sorted(exact, key=lambda grade: exact[grade] - counts[grade], reverse=True)
    for grade in by_remainder[: count - sum(counts.values())]:
        counts[grade] += 1
    return [grade for grade, n in counts.items() for _ in range(n)]


def _auditors(organisation: Organisation, team: Team) -> list[StaffMember]:
    """Trained managers of the team's service area, never the team's own manager."""
    in_area = {t.id for t in organisation.teams if t.service_area == team.service_area}
    head = organisation.leads_of(team.service_area).head_of_service
    others = [m for m in organisation.staff if m.can_audit and m.id != team.team_manager]
    in_service_area = [m for m in others if m.team in in_area or m.id == head]
    if not (in_service_area or others):
        raise DemoError(f"nobody in the organisation file may audit team {team.id}")
    return in_service_area or others


def _body(
    rng: random.Random, organisation: Organisation, team: Team, grade: Grade, day: date
) -> dict[str, Any]:
    practitioners = [
        m for m in organisation.staff if m.team == team.id and m.role == Role.PRACTITIONER
    ] or [organisation.staff_by_id[team.team_manager]]
    domains = _domain_grades(rng, grade)
    weakest = sorted(domains, key=lambda d: list(Grade).index(domains[d]), reverse=True)[:2]
    weak = [d for d in weakest if domains[d] in (Grade.REQUIRES_IMPROVEMENT, Grade.INADEQUATE)]
    heard = domains[AuditDomain.VOICE_OF_CHILD] in (Grade.OUTSTANDING, Grade.GOOD)
    at = datetime.combine(day, time(rng.randint(9, 16), rng.choice((0, 15, 30, 45))), tzinfo=UK)
    return {
        "audit_kind": rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0].value,
        "team_id": team.id,
        "practitioner_id": rng.choice(practitioners).id,
        "domain_grades": {domain.value: g.value for domain, g in domains.items()},
        "overall_grade": grade.value,
        "voice_of_child": {
            "evidenced": heard,
            "note": None if heard else "Wishes and feelings not recorded in the child's words",
        },
        "could_be_better_if": [LEARNING[d] for d in weak],
        "themes": [d.value for d in weak] + _extra_theme(rng, weak),
        "graded_at": _iso(at),
    }


def _extra_theme(rng: random.Random, weak: list[AuditDomain]) -> list[str]:
    return [rng.choice(EXTRA_THEMES)] if weak and rng.random() < 0.3 else []


def _domain_grades(rng: random.Random, overall: Grade) -> dict[AuditDomain, Grade]:
    """Domains around the overall grade, one of them exactly at it."""
    scale = list(Grade)
    centre = scale.index(overall)
    grades = {
        domain: scale[min(3, max(0, centre + rng.choices((-1, 0, 1), weights=(2, 6, 2))[0]))]
        for domain in AuditDomain
    }
    grades[rng.choice(list(AuditDomain))] = overall
    return grades


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- posting ------------------------------------------------------------------------------


class DemoError(RuntimeError):
    """The audit service refused a demo audit or could not be reached; the message says which."""


@dataclass(frozen=True)
class Seeded:
    created: int
    already_there: int
    grades: Counter[str]


def post_as(
    client: httpx.Client,
    issuer: LocalIssuer,
    url: str,
    body: dict[str, Any],
    staff_id: str,
    idempotency_key: str,
) -> httpx.Response:
    """POST `body` as staff member `staff_id`, with their token: every demo request goes here."""
    headers = {
        "Idempotency-Key": idempotency_key,
        "Authorization": f"Bearer {issuer.mint(staff_id, ttl_seconds=600)}",
    }
    try:
        return client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DemoError(f"{url} did not answer {staff_id}'s request: {type(exc).__name__}") from exc


def seed_demo(
    audit_url: str,
    issuer: LocalIssuer,
    organisation: Organisation,
    now: datetime | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> Seeded:
    """Post the demo audits to the audit service at `audit_url`; calls `progress(done, total)`."""
    audits = demo_audits(organisation, now or datetime.now(UTC))
    created, grades = 0, Counter[str]()
    with httpx.Client(timeout=30) as client:
        for done, audit in enumerate(audits, start=1):
            response = post_as(
                client, issuer, f"{audit_url}/audits", audit.body, audit.auditor_id, audit.key
            )
            if response.status_code not in (200, 201):
                raise DemoError(
                    f"the audit service refused demo audit {audit.key} "
                    f"({response.status_code}): {response.text[:500]}"
                )
            created += response.headers.get("Idempotent-Replayed") != "true"
            grades[audit.body["overall_grade"]] += 1
            progress(done, len(audits))
    return Seeded(created, len(audits) - created, grades)
