"""The demo history `qa run` seeds: months of audits and what a working council did with them.

The council report's chart (audit findings April to November 2023) is not in the text we have,
only its shape: "most practice is overall Requires Improvement", moving away from Inadequate
towards Good, with some Outstanding practice shared. GRADE_MIX follows that shape. Each month
is generated from its own seed, so a month's audits are the same whenever they are generated.

After the audits, the rest of the history goes through the services' APIs as the people who
would do it, so the demo looks like a council whose follow-ups work: for the past months'
Inadequate findings the Head of Service records the reflective conversation (most within the
5 working days, one in five a few days late) and, once the re-audit's date has passed, the
auditor re-audits (mostly on time, mostly improved); moderators record most past moderations,
mostly agreeing. This month's are left open, for someone to pick up in the browser.

Every choice comes from the demo's fixed seed and every request is idempotent (Idempotency-Key
on audits, request_id on moderations, the same conversation answers as a replay), so a second
run adds nothing.
"""

import random
import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
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


def _graded_day(audit: DemoAudit) -> date:
    return uk_day(datetime.fromisoformat(audit.body["graded_at"]))


def _rng(step: str, key: str) -> random.Random:
    # One seed per step and audit, so each choice is the same whenever it is made; not secret.
    return random.Random(f"qa-demo:{step}:{key}")  # noqa: S311


# --- what a working council did with them: the plan (pure) ---------------------------------

LATE_EVERY = 5
"""Within a month's Inadequate findings, one conversation in five is held a few days late."""
REAUDIT_EARLIEST = timedelta(days=28)
"""Re-audits are done in the fortnight before their due day (42 days after the conversation)."""
REAUDIT_LATE_SHARE = 0.15
REAUDIT_GRADES = {Grade.REQUIRES_IMPROVEMENT: 0.65, Grade.GOOD: 0.25, Grade.INADEQUATE: 0.10}
"""Mostly improved at re-audit; sometimes Inadequate again."""
MODERATED_SHARE = 0.85
"""Of the past months' moderations, the share the moderators have recorded."""
AGREEMENT = 0.8
"""How often a moderator agrees with a grade other than Inadequate (Inadequate: always)."""

AGREED_ACTIONS: dict[AuditDomain, str] = {
    AuditDomain.ASSESSMENT: "Update the assessment to analyse the child's lived experience",
    AuditDomain.PLANNING: "Rewrite the plan as SMART actions with owners and dates",
    AuditDomain.VISITS: "Record what the child said at each visit and whether seen alone",
    AuditDomain.VOICE_OF_CHILD: "Record the child's wishes and feelings in their own words",
    AuditDomain.MANAGEMENT_OVERSIGHT: "Record the manager's direction at each supervision",
    AuditDomain.RECORDING: "Bring the case summary up to date",
}
RATIONALES = {
    "higher": "The evidence of the child's progress supports a better grade than given",
    "lower": "The plan's actions are not yet specific enough for the grade given",
}


@dataclass(frozen=True)
class ConversationPlan:
    """The reflective conversation of one past month's Inadequate demo audit."""

    audit: DemoAudit
    late: bool

    def held_on(self, due_on: date, today: date, calendar: WorkingDayCalendar) -> date | None:
        """A working day by `due_on` (or, late, a few after it); None when not held yet."""
        rng = _rng("conversation", self.audit.key)
        if self.late:
            day = calendar.add_working_days(due_on, rng.randint(1, 4))
            return day if day <= today else None
        grading_day = _graded_day(self.audit)
        last = min(due_on, today)
        days = [grading_day + timedelta(n) for n in range(1, (last - grading_day).days + 1)]
        working = [day for day in days if calendar.is_working_day(day)]
        return rng.choice(working) if working else None


def conversation_plans(audits: list[DemoAudit], now: datetime) -> list[ConversationPlan]:
    """The past months' Inadequate audits; of each month's, taken by key, the fourth of every
    five is late, so a month of four or five findings (the mix gives that) has one late."""
    first, _ = month_bounds(uk_day(now))
    by_month: dict[str, list[DemoAudit]] = defaultdict(list)
    for audit in audits:
        if audit.body["overall_grade"] == Grade.INADEQUATE.value and _graded_day(audit) < first:
            by_month[audit.body["graded_at"][:7]].append(audit)
    return [
        ConversationPlan(audit, late=number % LATE_EVERY == LATE_EVERY - 2)
        for month in sorted(by_month)
        for number, audit in enumerate(sorted(by_month[month], key=lambda a: a.key))
    ]


def conversation_body(
    audit: DemoAudit, organisation: Organisation, held_on: date
) -> dict[str, Any]:
    """The Head of Service's record: held with the team manager, practitioner and auditor."""
    team = organisation.teams_by_id[audit.body["team_id"]]
    head = organisation.leads_of(team.service_area).head_of_service
    people = (head, team.team_manager, audit.body["practitioner_id"], audit.auditor_id)
    grades = audit.body["domain_grades"]
    weak = [d for d in AuditDomain if grades[d.value] == Grade.INADEQUATE.value]
    return {
        "held_on": held_on.isoformat(),
        "recorded_by": head,
        "attendees": list(dict.fromkeys(people)),
        "agreed_actions": [AGREED_ACTIONS[d] for d in weak or [AuditDomain.PLANNING]],
    }


@dataclass(frozen=True)
class Reaudit:
    """What the re-audit of one audit needs: the audit, its id, and the follow-up's dates."""

    audit: DemoAudit
    audit_id: str
    held_on: date
    due_on: date


def reaudit(
    planned: Reaudit, organisation: Organisation, now: datetime, calendar: WorkingDayCalendar
) -> DemoAudit | None:
    """The auditor's re-audit once its due day has passed: mostly in the fortnight before it,
    sometimes a few working days late (None while that day is still to come)."""
    today = uk_day(now)
    if planned.due_on >= today:
        return None  # not due yet: left open, owned by the auditor
    rng = _rng("reaudit", planned.audit.key)
    if rng.random() < REAUDIT_LATE_SHARE:
        day = calendar.add_working_days(planned.due_on, rng.randint(1, 5))
        if day >= today:
            return None
    else:
        earliest = planned.held_on + REAUDIT_EARLIEST
        days = [earliest + timedelta(n) for n in range((planned.due_on - earliest).days + 1)]
        day = rng.choice([d for d in days if calendar.is_working_day(d)] or [planned.due_on])
    grade = rng.choices(list(REAUDIT_GRADES), weights=list(REAUDIT_GRADES.values()))[0]
    original = planned.audit.body
    team = organisation.teams_by_id[original["team_id"]]
    body = _body(rng, organisation, team, grade, day) | {
        "audit_kind": AuditKind.REAUDIT.value,
        "reaudit_of": planned.audit_id,
        "case_id": original["case_id"],
        "practitioner_id": original["practitioner_id"],
        "auditor_id": planned.audit.auditor_id,
    }
    return DemoAudit(f"{planned.audit.key}-reaudit", planned.audit.auditor_id, body)


def moderated_grade(key: str, auditor_grade: Grade) -> tuple[Grade, str | None] | None:
    """What the moderator of demo audit `key` records (grade, rationale), or None: not yet.

    Inadequate is always confirmed (the follow-up stands); other grades mostly agreed, else
    one step either way, never to Inadequate, with the moderator's reason.
    """
    rng = _rng("moderation", key)
    if rng.random() >= MODERATED_SHARE:
        return None
    if auditor_grade is Grade.INADEQUATE or rng.random() < AGREEMENT:
        return auditor_grade, None
    scale = list(Grade)  # best first
    better = scale[max(0, scale.index(auditor_grade) - 1)]
    worse = scale[scale.index(auditor_grade) + 1]
    if worse is Grade.INADEQUATE or (better is not auditor_grade and rng.random() < 0.5):
        return better, RATIONALES["higher"]
    return worse, RATIONALES["lower"]


# --- posting ------------------------------------------------------------------------------

FOLLOWUPS_WAIT_SECONDS = 30.0
"""How long the scheduler and moderation service may take to see the demo audits' events."""
POLL_SECONDS = 0.5
TOKEN_SECONDS = 600


class DemoError(RuntimeError):
    """A service refused a demo request or could not be reached; the message says which."""


@dataclass(frozen=True)
class Seeded:
    """What a seeding found and did; a second run reports everything as already there."""

    created: int
    already_there: int
    grades: Counter[str]
    conversations: int = 0
    """Reflective conversations recorded by this run."""
    reaudits: int = 0
    moderations: int = 0


def post_as(
    client: httpx.Client,
    issuer: LocalIssuer,
    url: str,
    body: dict[str, Any],
    staff_id: str,
    idempotency_key: str,
) -> httpx.Response:
    """POST `body` as staff member `staff_id`, with their token and an Idempotency-Key."""
    headers = {
        "Idempotency-Key": idempotency_key,
        "Authorization": f"Bearer {issuer.mint(staff_id, ttl_seconds=TOKEN_SECONDS)}",
    }
    try:
        return client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DemoError(f"{url} did not answer {staff_id}'s request: {type(exc).__name__}") from exc


PAGE = 500
"""Rows asked for per page of a list (the services' largest page)."""


@dataclass
class _Run:
    """One seeding against running services: their addresses, tokens and the progress shown."""

    client: httpx.Client
    issuer: LocalIssuer
    apis: Mapping[str, str]
    progress: Callable[[int, int], None]
    total: int
    done: int = 0
    _tokens: dict[str, str] = field(default_factory=dict)

    def step(self) -> None:
        """One more thing done."""
        self.done += 1
        self.progress(self.done, self.total)

    def bearer(self, who: str, machine: bool = False) -> dict[str, str]:
        if who not in self._tokens:
            roles = ["service"] if machine else None
            self._tokens[who] = self.issuer.mint(who, roles=roles, ttl_seconds=TOKEN_SECONDS)
        return {"Authorization": f"Bearer {self._tokens[who]}"}

    def get(self, service: str, path: str, **params: str) -> Any:
        """GET as the demo's machine caller, which sees every record."""
        url = f"{self.apis[service]}{path}"
        try:
            answer = self.client.get(url, params=params, headers=self.bearer("qa-demo", True))
        except httpx.HTTPError as exc:
            raise DemoError(f"{url} did not answer: {type(exc).__name__}") from exc
        if answer.status_code != 200:
            raise DemoError(f"{url} answered {answer.status_code}: {answer.text[:300]}")
        return answer.json()

    def every(self, service: str, path: str) -> list[Any]:
        """Every row of a list route, page by page (shared.paging)."""
        rows: list[Any] = []
        while page := self.get(service, path, limit=str(PAGE), offset=str(len(rows))):
            rows.extend(page)
            if len(page) < PAGE:
                break
        return rows

    def post(self, service: str, path: str, body: dict[str, Any], who: str) -> httpx.Response:
        url = f"{self.apis[service]}{path}"
        try:
            return self.client.post(url, json=body, headers=self.bearer(who))
        except httpx.HTTPError as exc:
            raise DemoError(f"{url} did not answer {who}'s request: {type(exc).__name__}") from exc

    def post_audit(self, audit: DemoAudit) -> tuple[str, bool]:
        """Post one audit; its id, and whether this run created it.

        A re-audit is accepted once the audit service has heard from the scheduler that the
        follow-up is at its re-audit step, moments after the conversation: until then it is
        sent again (the same key, so never twice)."""
        url = f"{self.apis['audit']}/audits"
        deadline = clock.monotonic() + FOLLOWUPS_WAIT_SECONDS
        while True:
            answer = post_as(self.client, self.issuer, url, audit.body, audit.auditor_id, audit.key)
            if not _step_not_heard_of_yet(answer) or clock.monotonic() > deadline:
                break
            clock.sleep(POLL_SECONDS)
        if answer.status_code not in (200, 201):
            raise DemoError(
                f"the audit service refused demo audit {audit.key} "
                f"({answer.status_code}): {answer.text[:500]}"
            )
        audit_id: str = answer.json()["id"]
        return audit_id, answer.headers.get("Idempotent-Replayed") != "true"


def _step_not_heard_of_yet(answer: httpx.Response) -> bool:
    """A re-audit refused only because the scheduler's news has not reached the audit service."""
    if answer.status_code != 422:
        return False
    problems = answer.json().get("errors", [])  # a problem document's fields (shared.errors)
    waiting = ("is not recorded yet", "has no follow-up waiting")
    return bool(problems) and all(
        problem.get("loc") == ["body", "reaudit_of"]
        and any(words in problem["msg"] for words in waiting)
        for problem in problems
    )


def _wait_for(
    look: Callable[[], dict[str, dict[str, Any]]], wanted: set[str], what: str
) -> dict[str, dict[str, Any]]:
    """Poll `look` until it has every key of `wanted` and stops growing; fail after the wait."""
    deadline = clock.monotonic() + FOLLOWUPS_WAIT_SECONDS
    before: dict[str, dict[str, Any]] | None = None
    while True:
        found = look()
        if wanted <= found.keys() and before is not None and found.keys() == before.keys():
            return found
        if clock.monotonic() > deadline:
            missing = len(wanted - found.keys())
            raise DemoError(f"{what}: {missing} of {len(wanted)} not there after the wait")
        before = found
        clock.sleep(POLL_SECONDS)


@dataclass
class _History:
    """The follow-ups and moderations of the demo audits, driven as the right people."""

    run: _Run
    organisation: Organisation
    now: datetime
    calendar: WorkingDayCalendar = field(default_factory=WorkingDayCalendar)
    conversations: int = 0
    reaudits: int = 0
    moderations: int = 0

    def followups(
        self, plans: list[ConversationPlan], ids: Mapping[str, str]
    ) -> dict[str, DemoAudit]:
        """Each planned conversation, then the re-audit where due; the re-audits, by id."""
        wanted = {ids[plan.audit.key] for plan in plans}

        def look() -> dict[str, dict[str, Any]]:
            listed = self.run.every("scheduler", "/followups")
            return {f["audit_id"]: f for f in listed if f["audit_id"] in wanted}

        found = _wait_for(look, wanted, "follow-ups of the demo's Inadequate audits")
        reaudits: dict[str, DemoAudit] = {}
        for plan in plans:
            followup = self._conversation(plan, found[ids[plan.audit.key]])
            if followup is not None and (done := self._reaudit(plan, ids, followup)) is not None:
                reaudits[done[0]] = done[1]
            self.run.step()
        return reaudits

    def _conversation(
        self, plan: ConversationPlan, followup: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The follow-up once its conversation is recorded; None while it is not."""
        if followup["status"] == "cancelled":
            return None
        if followup["conversation_held_on"] is not None:
            return followup  # recorded before, by an earlier run or in the browser
        due = date.fromisoformat(followup["conversation_due_on"])
        held_on = plan.held_on(due, uk_day(self.now), self.calendar)
        if held_on is None:
            return None
        body = conversation_body(plan.audit, self.organisation, held_on)
        path = f"/followups/{followup['id']}/reflective-conversation"
        answer = self.run.post("scheduler", path, body, body["recorded_by"])
        if answer.status_code == 409:  # another conversation was recorded meanwhile
            recorded: dict[str, Any] = self.run.get("scheduler", f"/followups/{followup['id']}")
            return recorded
        if answer.status_code != 200:
            raise DemoError(
                f"the scheduler refused the conversation of {plan.audit.key} "
                f"({answer.status_code}): {answer.text[:300]}"
            )
        self.conversations += 1
        held: dict[str, Any] = answer.json()
        return held

    def _reaudit(
        self, plan: ConversationPlan, ids: Mapping[str, str], followup: dict[str, Any]
    ) -> tuple[str, DemoAudit] | None:
        if followup["reaudit_id"] is not None or followup["reaudit_due_on"] is None:
            return None
        planned = Reaudit(
            plan.audit,
            ids[plan.audit.key],
            date.fromisoformat(followup["conversation_held_on"]),
            date.fromisoformat(followup["reaudit_due_on"]),
        )
        done = reaudit(planned, self.organisation, self.now, self.calendar)
        if done is None:
            return None
        self._actions_done(followup)
        audit_id, created = self.run.post_audit(done)
        self.reaudits += created
        return audit_id, done

    def _actions_done(self, followup: dict[str, Any]) -> None:
        """Its agreed actions marked done by their owners before the re-audit, as in a council
        that works: an action still open would hold an improved follow-up open."""
        for action in followup["actions"]:
            if action["status"] != "open":
                continue
            owner = action["owner_id"]
            body = {"changed_by": owner, "status": "done", "request_id": f"qa-demo-{action['id']}"}
            answer = self.run.post("scheduler", f"/actions/{action['id']}", body, owner)
            if answer.status_code != 200:
                raise DemoError(
                    f"the scheduler refused to mark action {action['id']} done "
                    f"({answer.status_code}): {answer.text[:300]}"
                )

    def moderate(self, audits: Mapping[str, DemoAudit]) -> None:
        """Most of the past months' open moderations of demo audits, by their moderators."""
        inadequate = {i for i, a in audits.items() if a.body["overall_grade"] == Grade.INADEQUATE}

        def look() -> dict[str, dict[str, Any]]:
            listed = self.run.every("moderation", "/moderations")
            return {m["audit_id"]: m for m in listed if m["audit_id"] in audits}

        found = _wait_for(look, inadequate, "moderations of the demo's Inadequate audits")
        first, _ = month_bounds(uk_day(self.now))
        to_record = []
        for audit_id, moderation in sorted(found.items(), key=lambda item: audits[item[0]].key):
            audit = audits[audit_id]
            if moderation["status"] != "open" or _graded_day(audit) >= first:
                continue
            decided = moderated_grade(audit.key, Grade(moderation["auditor_grade"]))
            if decided is not None:
                to_record.append((moderation, audit, *decided))
        self.run.total += len(to_record)
        for moderation, audit, grade, rationale in to_record:
            self._record(moderation, audit, grade, rationale)
            self.run.step()

    def _record(
        self, moderation: dict[str, Any], audit: DemoAudit, grade: Grade, rationale: str | None
    ) -> None:
        body = {
            "moderator_id": moderation["moderator_id"],
            "moderated_grade": grade.value,
            "rationale": rationale,
            "request_id": f"qa-demo-moderation-{audit.key}",
        }
        path = f"/moderations/{moderation['id']}"
        answer = self.run.post("moderation", path, body, moderation["moderator_id"])
        if answer.status_code not in (200, 409):  # 409: recorded by someone else meanwhile
            raise DemoError(
                f"the moderation service refused the moderation of {audit.key} "
                f"({answer.status_code}): {answer.text[:300]}"
            )
        self.moderations += answer.status_code == 200


def seed_demo(
    apis: str | Mapping[str, str],
    issuer: LocalIssuer,
    organisation: Organisation,
    now: datetime | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> Seeded:
    """Seed the demo history through the services' APIs; calls `progress(done, total)`.

    `apis` maps service names to their addresses; with the scheduler's and the moderation
    service's, the follow-ups and moderations are seeded after the audits. A lone address is
    the audit service's: the audits only.
    """
    now = now or datetime.now(UTC)
    urls = {"audit": apis} if isinstance(apis, str) else dict(apis)
    whole = {"scheduler", "moderation"} <= urls.keys()
    audits = demo_audits(organisation, now)
    plans = conversation_plans(audits, now) if whole else []
    ids: dict[str, str] = {}
    created, grades = 0, Counter[str]()
    with httpx.Client(timeout=30) as client:
        run = _Run(client, issuer, urls, progress, total=len(audits) + len(plans))
        for audit in audits:
            ids[audit.key], new = run.post_audit(audit)
            created += new
            grades[audit.body["overall_grade"]] += 1
            run.step()
        if not whole:
            return Seeded(created, len(audits) - created, grades)
        history = _History(run, organisation, now)
        reaudits = history.followups(plans, ids)
        known = {ids[a.key]: a for a in audits} | reaudits
        history.moderate(known)
    return Seeded(
        created,
        len(audits) - created,
        grades,
        history.conversations,
        history.reaudits,
        history.moderations,
    )
