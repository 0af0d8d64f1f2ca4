"""The SQL that makes a service's history: set-based (INSERT ... SELECT over generate_series).

Every value is a pure function of an audit's number `g` (and, for rows that are not audits, a
key of their own): `u(salt)` is a uniform draw in [0, 1) from PostgreSQL's `hashint8extended`,
so the audit database, the moderation database and the scheduler's compute the same audit,
moderation and follow-up for the same `g` without ever reading each other (there are no joins
across databases). The shapes follow the demo history (tooling/demo.py): grades 4% Outstanding,
26% Good, 60% Requires Improvement, 10% Inadequate over the 395 days before today; about a
fifth moderated, mostly agreeing; Inadequate findings followed up, conversations and re-audits
mostly on time, and every timer whose day has come fired and kept.

Bind parameters (psycopg client-side binding, so they work in CREATE TABLE AS too; a literal
percent sign is therefore written %%): `n`,
`now` (timestamptz), `today` (the UK day of `now`), `teams` (how many rows `bench_teams` has),
`cases`, `moderators` (text[]), `extra_past` and `extra_open` (programme allocations that are
not submitted audits, per month gone by and for this month).
"""

# Every statement here is assembled from this module's own constants and macros; the values
# (sizes, times, staff ids) go in as bind parameters, never into the text.
# ruff: noqa: S608

DAYS = 395
"""About 13 months of history: /stats over 12 months reads almost all of it."""
MONTHS_BACK = 13


def u(salt: int | str, key: str = "g") -> str:
    """A uniform draw in [0, 1) for row `key`, independent for each salt."""
    return f"((hashint8extended(({key})::bigint, {salt}) & 4294967295)::float8 / 4294967296.0)"


def pick(array: str, salt: int | str, key: str = "g") -> str:
    """One element of a text[] chosen by `u(salt)`."""
    return f"({array})[1 + floor({u(salt, key)} * cardinality({array}))::int]"


def back_to_weekday(day: str) -> str:
    """A Saturday or Sunday moved back to the Friday before."""
    return (
        f"(({day}) - CASE extract(isodow FROM ({day}))::int WHEN 6 THEN 1 WHEN 7 THEN 2 ELSE 0 END)"
    )


def on_to_weekday(day: str) -> str:
    """A Saturday or Sunday moved on to the Monday after."""
    return (
        f"(({day}) + CASE extract(isodow FROM ({day}))::int WHEN 6 THEN 2 WHEN 7 THEN 1 ELSE 0 END)"
    )


def add_working_days(day: str, count: str) -> str:
    """`count` (>= 0) working days after weekday `day`, bank holidays aside (a plausible date,
    not the service's calendar)."""
    return (
        f"(({day}) + (({count}) / 5) * 7 + ({count}) %% 5"
        f" + CASE WHEN extract(isodow FROM ({day}))::int + ({count}) %% 5 > 5 THEN 2 ELSE 0 END)"
    )


def two_working_days_before(day: str) -> str:
    return f"(({day}) - CASE WHEN extract(isodow FROM ({day}))::int <= 2 THEN 4 ELSE 2 END)"


def uk_time(day: str, clock: str) -> str:
    """The moment `day` at `clock` (HH:MM) UK time."""
    return f"((({day}) + time '{clock}') AT TIME ZONE 'Europe/London')"


def uk_day(moment: str) -> str:
    return f"((({moment}) AT TIME ZONE 'Europe/London')::date)"


def iso(moment: str) -> str:
    """As the services store times inside JSON (datetime.isoformat of a UTC time)."""
    return f"to_char(({moment}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')"


GRADES = "(ARRAY['outstanding', 'good', 'requires_improvement', 'inadequate'])"
"""Grade names by index: the higher, the worse (shared.events.vocabulary.Grade's order)."""


def grade_name(index: str) -> str:
    return f"{GRADES}[({index}) + 1]"


def grade_of(salt: int, key: str = "g") -> str:
    """The report chart's shares (tooling.demo.GRADE_MIX) as a grade index."""
    draw = u(salt, key)
    return (
        f"CASE WHEN {draw} < 0.04 THEN 0 WHEN {draw} < 0.30 THEN 1"
        f" WHEN {draw} < 0.90 THEN 2 ELSE 3 END"
    )


# --- the audits: one temporary table per database, the same rows in each -------------------

_BENCH_AUDITS = f"""
CREATE TEMP TABLE bench_audits AS
SELECT b.g, b.g AS k, b.id, b.case_id, b.audit_kind, NULL::text AS reaudit_of, b.grade,
    b.graded_day, t.team_id, t.service_area, t.area, t.team_manager AS team_manager_id,
    t.head_of_service, t.assistant_director,
    {pick("t.practitioners", 4, "b.g")} AS practitioner_id,
    {pick("t.auditors", 5, "b.g")} AS auditor_id,
    {uk_time("b.graded_day", "09:00")}
        + floor({u(6, "b.g")} * 32)::int * interval '15 minutes' AS graded_at
FROM (
    SELECT g,
        'AUD-B' || lpad(g::text, 7, '0') AS id,
        'CASE-B' || lpad((1 + floor({u(7)} * %(cases)s))::int::text, 7, '0') AS case_id,
        CASE WHEN {u(8)} < 0.88 THEN 'learning' WHEN {u(8)} < 0.95 THEN 'thematic'
            ELSE 'dip_sample' END AS audit_kind,
        1 + floor({u(3)} * %(teams)s)::int AS team_idx,
        {back_to_weekday(f"%(today)s::date - 1 - floor({u(1)} * {DAYS})::int")} AS graded_day,
        {grade_of(2)} AS grade
    FROM generate_series(1, %(n)s) AS g
    {{where}}
) b
JOIN bench_teams t ON t.idx = b.team_idx
"""
BENCH_AUDITS = _BENCH_AUDITS.format(where="")


def moderated(grade: str, key: str = "g") -> str:
    """Whether an audit is moderated: every Inadequate one and about one in eight others."""
    return f"({grade}) = 3 OR {u(30, key)} < 0.12"


BENCH_MODERATED_AUDITS = _BENCH_AUDITS.format(where=f"WHERE {moderated(grade_of(2))}")
"""Only the audits the moderation database needs."""

# A moderation for every Inadequate audit and about one in eight of the rest (about 21% in
# all); recorded within a fortnight unless that is still to come, one in ten left open.
BENCH_MODERATIONS = f"""
CREATE TEMP TABLE bench_moderations AS
SELECT m.*,
    m.would_record AND m.moderated_at_if < %(now)s AS completed
FROM (
    SELECT a.g, a.id AS audit_id, 'MOD-B' || lpad(a.g::text, 7, '0') AS id, a.case_id,
        a.service_area, a.team_id, a.area, a.auditor_id, a.team_manager_id, a.practitioner_id,
        a.head_of_service, a.assistant_director, a.grade AS auditor_grade, a.graded_at,
        CASE WHEN a.grade = 3 THEN 'inadequate' ELSE 'sampled' END AS reason,
        CASE WHEN {pick("%(moderators)s::text[]", 31, "a.g")} = a.auditor_id
            THEN (%(moderators)s::text[])[1] ELSE {pick("%(moderators)s::text[]", 31, "a.g")}
        END AS moderator_id,
        a.graded_at + interval '5 seconds' AS requested_at,
        {uk_time(on_to_weekday(f"a.graded_day + 1 + floor({u(32, 'a.g')} * 14)::int"), "10:00")}
            + floor({u(36, "a.g")} * 6)::int * interval '1 hour' AS moderated_at_if,
        {u(33, "a.g")} < 0.9 AS would_record,
        CASE
            WHEN a.grade = 3 THEN CASE WHEN {u(34, "a.g")} < 0.95 THEN 3 ELSE 2 END
            WHEN {u(34, "a.g")} < 0.8 THEN a.grade
            WHEN a.grade = 0 THEN 1
            WHEN {u(35, "a.g")} < 0.5 THEN a.grade - 1
            ELSE a.grade + 1
        END AS moderated_grade_if
    FROM bench_audits a
    WHERE {moderated("a.grade", "a.g")}
) m
"""

# Follow-ups: every Inadequate grade (found by the auditor) and every grade a moderator made
# Inadequate (found by moderation). Conversations within 5 working days four times in five,
# re-audits 6 weeks later, mostly in the fortnight before their day; an auditor's Inadequate
# regraded by moderation is cancelled. Only what has happened by yesterday is recorded.
_FOLLOWUP_STEPS = f"""
WITH base AS (
    -- Found by the auditor (with its moderation, if any) ...
    SELECT a.g, a.id AS audit_id, 'FUP-B' || lpad(a.g::text, 7, '0') AS id, a.case_id,
        a.service_area, a.team_id, a.area, a.team_manager_id, a.practitioner_id, a.auditor_id,
        a.head_of_service, a.assistant_director, 'auditor' AS found_by,
        a.graded_day AS grading_day, a.graded_at + interval '1 second' AS opened_at,
        CASE WHEN m.completed AND m.moderated_grade_if < 3 THEN m.moderated_at_if END
            AS cancelled_at,
        m.id AS moderation_id
    FROM bench_audits a
    LEFT JOIN bench_moderations m ON m.g = a.g
    WHERE a.grade = 3
    UNION ALL
    -- ... or by moderation (the moderation row carries what the follow-up needs).
    SELECT m.g, m.audit_id, 'FUP-B' || lpad(m.g::text, 7, '0'), m.case_id, m.service_area,
        m.team_id, m.area, m.team_manager_id, m.practitioner_id, m.auditor_id,
        m.head_of_service, m.assistant_director, 'moderation', {uk_day("m.moderated_at_if")},
        m.moderated_at_if + interval '1 second', NULL, m.id
    FROM bench_moderations m
    WHERE m.completed AND m.moderated_grade_if = 3 AND m.auditor_grade < 3
), conversation AS (
    SELECT base.*, grading_day + 7 AS conversation_due_on,
        CASE WHEN {u(41)} < 0.8
            THEN {back_to_weekday(f"grading_day + 1 + floor({u(40)} * 6)::int")}
            ELSE {on_to_weekday(f"grading_day + 8 + floor({u(40)} * 5)::int")}
        END AS held_if
    FROM base
), held AS (
    SELECT conversation.*,
        CASE WHEN held_if < %(today)s::date
            AND (cancelled_at IS NULL OR held_if < {uk_day("cancelled_at")})
            THEN held_if END AS held_on
    FROM conversation
), reaudit AS (
    SELECT held.*, held_on + 42 AS reaudit_due_on,
        CASE WHEN {u(43)} < 0.15
            THEN {on_to_weekday(f"held_on + 43 + floor({u(42)} * 10)::int")}
            ELSE {back_to_weekday(f"held_on + 42 - floor({u(42)} * 14)::int")}
        END AS reaudit_if,
        CASE WHEN {u(44)} < 0.65 THEN 2 WHEN {u(44)} < 0.9 THEN 1 ELSE 3 END AS reaudit_grade
    FROM held
), done AS (
    SELECT reaudit.*,
        CASE WHEN cancelled_at IS NULL AND held_on IS NOT NULL AND reaudit_if < %(today)s::date
            THEN reaudit_if END AS reaudited_on
    FROM reaudit
)
SELECT done.*,
    {uk_time("reaudited_on", "11:00")} + floor({u(45)} * 5)::int * interval '1 hour'
        AS reaudited_at
FROM done
"""

BENCH_FOLLOWUPS = f"""
CREATE TEMP TABLE bench_followups AS
SELECT s.*,
    CASE WHEN cancelled_at IS NOT NULL THEN 'cancelled'
        WHEN reaudited_on IS NOT NULL THEN 'completed' ELSE 'open' END AS status,
    CASE WHEN held_on IS NOT NULL THEN 'reaudit' ELSE 'reflective_conversation' END AS step,
    CASE WHEN held_on IS NOT NULL THEN auditor_id ELSE head_of_service END AS owner_id,
    coalesce(held_on + 42, conversation_due_on) AS due_on,
    CASE WHEN reaudited_on IS NOT NULL THEN audit_id || '-R' END AS reaudit_id,
    coalesce(cancelled_at, reaudited_at + interval '1 second') AS closed_at
FROM ({_FOLLOWUP_STEPS}) s
"""

# Re-audits are audits too: of the same case, by the follow-up's owner (the first auditor).
BENCH_REAUDITS = """
CREATE TEMP TABLE bench_reaudits AS
SELECT f.g, f.g + 4000000000 AS k, f.reaudit_id AS id, f.case_id, 'reaudit' AS audit_kind,
    f.audit_id AS reaudit_of, f.reaudit_grade AS grade, f.reaudited_on AS graded_day,
    f.team_id, f.service_area, f.area, f.team_manager_id, f.head_of_service,
    f.assistant_director, f.practitioner_id, f.auditor_id, f.reaudited_at AS graded_at
FROM bench_followups f
WHERE f.reaudited_on IS NOT NULL
"""

# Programme allocations: six in ten learning audits were allocated by the month's programme
# (submitted); each month gone by also declined or exempted a few, and this month's are still
# with their auditors.
BENCH_ALLOCATIONS = f"""
CREATE TEMP TABLE bench_allocations AS
SELECT 'ALC-B' || lpad(a.g::text, 7, '0') AS id, to_char(a.graded_day, 'YYYY-MM') AS month,
    a.case_id, a.service_area, a.team_id, a.practitioner_id, a.team_manager_id, a.auditor_id,
    'submitted' AS status, date_trunc('month', a.graded_day)::date AS first_day,
    a.graded_at AS closed_at, a.id AS audit_id, NULL::text AS reason, NULL::text AS exempted_by
FROM bench_audits a
WHERE a.audit_kind = 'learning' AND {u(20, "a.g")} < 0.6
UNION ALL
SELECT 'ALC-X' || lpad(x.k::text, 10, '0'), to_char(x.first_day, 'YYYY-MM'),
    'CASE-B' || lpad((1 + floor({u(7, "x.k")} * %(cases)s))::int::text, 7, '0'),
    t.service_area, t.team_id, {pick("t.practitioners", 4, "x.k")}, t.team_manager,
    {pick("t.auditors", 5, "x.k")},
    x.status, x.first_day,
    CASE WHEN x.status IN ('declined', 'exempted')
        THEN {uk_time("x.first_day + 3 + floor(" + u(21, "x.k") + " * 18)::int", "14:00")} END,
    NULL,
    CASE x.status WHEN 'declined' THEN 'I know the family from a previous role'
        WHEN 'exempted' THEN 'The case is in care proceedings this month' END,
    CASE WHEN x.status = 'exempted' THEN t.assistant_director END
FROM (
    SELECT 3000000000 + back * 10000000 + j AS k,
        (date_trunc('month', %(today)s::date) - back * interval '1 month')::date AS first_day,
        CASE WHEN back = 0 THEN
            CASE WHEN {u(22, "3000000000 + back * 10000000 + j")} < 0.6
                THEN 'allocated' ELSE 'in_progress' END
        WHEN {u(22, "3000000000 + back * 10000000 + j")} < 0.5 THEN 'declined'
        ELSE 'exempted' END AS status
    FROM generate_series(0, {MONTHS_BACK - 1}) AS back
    CROSS JOIN LATERAL generate_series(
        1, CASE WHEN back = 0 THEN %(extra_open)s ELSE %(extra_past)s END) AS j
) x
JOIN bench_teams t ON t.idx = 1 + floor({u(3, "x.k")} * %(teams)s)::int
"""

# --- the audit service's tables ------------------------------------------------------------

_DOMAINS = (
    ("assessment", "The assessment analyses the impact of the child's lived experience"),
    ("planning", "The plan is outcome-focused and SMART: who does what by when"),
    ("visits", "Visits record what the child said and how they were seen alone"),
    ("voice_of_child", "The wishes and feelings of each child in the household are heard"),
    ("management_oversight", "Supervision records the manager's direction and review"),
    ("recording", "The case summary is current, so the child could understand it later"),
)
"""The six domains (shared.events.vocabulary.AuditDomain) and what each teaches when weak."""
_EXTRA_THEMES = "(ARRAY['non_resident_parent', 'partner_agencies', 'smart_plans', 'timeliness'])"


def _domain_grade(position: int) -> str:
    """Domains around the overall grade (one step either way one time in five each), one of
    them exactly at it, as tooling.demo._domain_grades."""
    draw = u(10 + position, "a.k")
    shifted = (
        f"greatest(0, least(3, a.grade + CASE WHEN {draw} < 0.2 THEN -1"
        f" WHEN {draw} < 0.8 THEN 0 ELSE 1 END))"
    )
    return f"CASE WHEN floor({u(9, 'a.k')} * 6)::int = {position} THEN a.grade ELSE {shifted} END"


_DOMAIN_CODE = " + ".join(f"{4**i} * {_domain_grade(i)}" for i in range(len(_DOMAINS)))
"""An audit's six domain grades as one number (two bits a domain)."""
_DOMAIN_OBJECT = ", ".join(
    f"'{name}', {grade_name(f'd.dg{i}')}" for i, (name, _) in enumerate(_DOMAINS)
)
_DOMAIN_VALUES = ", ".join(
    f"({i}, '{name}', d.dg{i}, '{text.replace(chr(39), chr(39) * 2)}')"
    for i, (name, text) in enumerate(_DOMAINS)
)
_EXTRA = f"CASE WHEN {u(16, 'a.k')} < 0.3 THEN 1 + floor({u(17, 'a.k')} * 4)::int ELSE 0 END"
"""Three weak audits in ten also carry one of the other themes (tooling.demo)."""

# What an audit's columns say follows from its domain grades and its extra theme alone: made
# once for each of the 4096 x 5 combinations and joined, not built again for each audit.
BENCH_DOMAIN_SETS = f"""
CREATE TEMP TABLE bench_domain_sets AS
SELECT d.code * 5 + e.extra AS set_key,
    json_build_object({_DOMAIN_OBJECT}) AS domain_grades,
    d.dg3 <= 1 AS voice_of_child_evidenced,
    w.learning::json AS could_be_better_if,
    (w.themes || CASE WHEN w.themes <> '[]'::jsonb AND e.extra > 0
        THEN jsonb_build_array({_EXTRA_THEMES}[e.extra]) ELSE '[]'::jsonb END)::json AS themes
FROM (
    SELECT code, {", ".join(f"(code >> {2 * i}) & 3 AS dg{i}" for i in range(len(_DOMAINS)))}
    FROM generate_series(0, 4095) AS code
) d
CROSS JOIN generate_series(0, 4) AS e(extra)
CROSS JOIN LATERAL (
    -- The two weakest domains, if Requires Improvement or worse, are the audit's themes.
    SELECT coalesce(jsonb_agg(weak.name ORDER BY weak.grade DESC, weak.position), '[]') AS themes,
        coalesce(jsonb_agg(weak.text ORDER BY weak.grade DESC, weak.position), '[]') AS learning
    FROM (
        SELECT * FROM (VALUES {_DOMAIN_VALUES}) AS v(position, name, grade, text)
        WHERE v.grade >= 2 ORDER BY v.grade DESC, v.position LIMIT 2
    ) weak
) w
"""

INSERT_AUDITS = f"""
INSERT INTO audits (id, case_id, audit_kind, reaudit_of, service_area, team_id, area,
    practitioner_id, team_manager_id, auditor_id, overall_grade, domain_grades,
    voice_of_child_evidenced, voice_of_child_note, could_be_better_if, themes, graded_at,
    recorded_at)
SELECT a.id, a.case_id, a.audit_kind, a.reaudit_of, a.service_area, a.team_id, a.area,
    a.practitioner_id, a.team_manager_id, a.auditor_id, {grade_name("a.grade")},
    s.domain_grades, s.voice_of_child_evidenced,
    CASE WHEN NOT s.voice_of_child_evidenced
        THEN 'Wishes and feelings not recorded in the child''s words' END,
    s.could_be_better_if, s.themes, a.graded_at, a.graded_at + interval '2 minutes'
FROM (
    SELECT a.*, ({_DOMAIN_CODE}) * 5 + {_EXTRA} AS set_key
    FROM (SELECT * FROM bench_audits UNION ALL SELECT * FROM bench_reaudits) a
) a
JOIN bench_domain_sets s ON s.set_key = a.set_key
"""

INSERT_AUDIT_MODERATORS = """
INSERT INTO audit_moderators (audit_id, moderator_id, moderation_id)
SELECT audit_id, moderator_id, id FROM bench_moderations
"""

INSERT_REAUDIT_ASSIGNMENTS = f"""
INSERT INTO reaudit_assignments (audit_id, followup_id, step, owner_id, open, as_of)
SELECT audit_id, id, step, owner_id, status = 'open',
    coalesce(closed_at, {uk_time("held_on", "15:00")}, opened_at)
FROM bench_followups
"""

# Every case audited, with whoever holds it now (cases move between teams: not necessarily the
# team of its audits); nine in ten still open.
INSERT_CASE_REGISTER = f"""
INSERT INTO case_register (case_id, team_id, practitioner_id, team_manager_id, open, as_of,
    allocated_as_of, service_area, opened_on)
SELECT 'CASE-B' || lpad(c::text, 7, '0'), t.team_id, {pick("t.practitioners", 71, "c")},
    t.team_manager, {u(72, "c")} < 0.9, %(now)s - floor({u(73, "c")} * 400)::int * interval '1 day',
    %(now)s - floor({u(73, "c")} * 400)::int * interval '1 day', t.service_area,
    %(today)s::date - 400 - floor({u(74, "c")} * 1000)::int
FROM generate_series(1, %(cases)s) AS c
JOIN bench_teams t ON t.idx = 1 + floor({u(70, "c")} * %(teams)s)::int
"""

INSERT_PROGRAMMES = f"""
INSERT INTO audit_programmes (id, month, size, minimum_per_team, seed, due_on, drawn_at,
    drawn_by, open_cases, eligible_cases, note, teams, unallocated)
SELECT 'PRG-B-' || month, month, sum(drawn), 1, hashtext(month),
    {back_to_weekday("(min(first_day) + interval '1 month' - interval '1 day')::date")},
    {uk_time("min(first_day)", "08:00")}, 'S0004', sum(drawn) * 4, sum(drawn) * 3, NULL,
    json_agg(json_build_object('team_id', team_id, 'open_cases', drawn * 4,
        'eligible_cases', drawn * 3, 'quota', drawn, 'drawn', drawn) ORDER BY team_id),
    '[]'::json
FROM (
    SELECT month, team_id, min(first_day) AS first_day, count(*)::int AS drawn
    FROM bench_allocations GROUP BY month, team_id
) per_team
GROUP BY month
"""

INSERT_ALLOCATIONS = f"""
INSERT INTO audit_allocations (id, programme_id, month, case_id, service_area, team_id,
    practitioner_id, team_manager_id, auditor_id, status, due_on, why_case, why_auditor,
    allocated_at, allocated_by, audit_id, reason, exempted_by, closed_at, draft,
    draft_saved_at, took_part)
SELECT id, 'PRG-B-' || month, month, case_id, service_area, team_id, practitioner_id,
    team_manager_id, auditor_id, status,
    {back_to_weekday("(first_day + interval '1 month' - interval '1 day')::date")},
    'Drawn at random from the team''s eligible open cases (quota by eligible cases)',
    'Trained auditor outside the case''s team, least loaded when drawn',
    {uk_time("first_day", "08:30")}, 'S0004', audit_id, reason, exempted_by, closed_at,
    CASE WHEN status = 'in_progress' THEN '{{}}'::json END,
    CASE WHEN status = 'in_progress' THEN {uk_time("first_day + 2", "10:00")} END,
    CASE WHEN status = 'submitted' THEN json_build_array(practitioner_id, team_manager_id)
        ELSE '[]'::json END
FROM bench_allocations
"""

# --- the moderation service's tables --------------------------------------------------------

INSERT_MODERATIONS = f"""
INSERT INTO moderations (id, audit_id, case_id, service_area, team_id, auditor_id,
    team_manager_id, practitioner_id, moderator_id, reason, auditor_grade, audit_graded_at,
    status, requested_at, moderated_grade, grade_difference, rationale, moderated_at,
    request_id, outstanding_practice)
SELECT id, audit_id, case_id, service_area, team_id, auditor_id, team_manager_id,
    practitioner_id, moderator_id, reason, {grade_name("auditor_grade")}, graded_at,
    CASE WHEN completed THEN 'completed' ELSE 'open' END, requested_at,
    CASE WHEN completed THEN {grade_name("moderated_grade_if")} END,
    CASE WHEN completed THEN moderated_grade_if - auditor_grade END,
    CASE WHEN completed AND moderated_grade_if < auditor_grade
            THEN 'The evidence of the child''s progress supports a better grade than given'
        WHEN completed AND moderated_grade_if > auditor_grade
            THEN 'The plan does not show what will change for the child, or by when' END,
    CASE WHEN completed THEN moderated_at_if END,
    CASE WHEN completed THEN 'bench-' || id END,
    completed AND moderated_grade_if = 0 AND {u(37)} < 0.5
FROM bench_moderations
"""

# --- the scheduler's tables -----------------------------------------------------------------

INSERT_AUDIT_FACTS = """
INSERT INTO audit_facts (audit_id, case_id, auditor_id, practitioner_id, team_manager_id,
    overall_grade, reaudit_of, graded_at)
SELECT id, case_id, auditor_id, practitioner_id, team_manager_id,
    (ARRAY['outstanding', 'good', 'requires_improvement', 'inadequate'])[grade + 1],
    reaudit_of, graded_at
FROM (SELECT * FROM bench_audits UNION ALL SELECT * FROM bench_reaudits) a
"""

INSERT_MODERATOR_FACTS = """
INSERT INTO moderator_facts (audit_id, moderator_id, moderation_id)
SELECT audit_id, moderator_id, id FROM bench_moderations
"""

INSERT_MODERATION_FACTS = f"""
INSERT INTO moderation_facts (audit_id, moderation_id, moderated_grade, moderated_at)
SELECT audit_id, id, {grade_name("moderated_grade_if")}, moderated_at_if
FROM bench_moderations WHERE completed
"""

_ACTION_TEXTS = (
    "Update the assessment to analyse the child's lived experience",
    "Rewrite the plan as SMART actions with owners and dates",
    "Record the child's wishes and feelings in their own words",
    "Record the manager's direction at each supervision",
)
_ACTION_ARRAY = "(ARRAY[" + ", ".join("'" + t.replace("'", "''") + "'" for t in _ACTION_TEXTS)
_ACTION_ARRAY += "])"
_ACTION_DUE = add_working_days("f.held_on", "10 * p")
_ACTION_DONE_ON_TIME = back_to_weekday(f"{_ACTION_DUE} - floor({u(51, 'f.g * 10 + p')} * 8)::int")
_ACTION_DONE_LATE = on_to_weekday(f"{_ACTION_DUE} + 1 + floor({u(51, 'f.g * 10 + p')} * 10)::int")
"""Four in five actions are done by their day, the rest up to two weeks late."""

INSERT_FOLLOWUPS = f"""
INSERT INTO followups (id, audit_id, case_id, service_area, team_id, found_by, grading_day,
    status, step, owner_id, due_on, conversation_due_on, conversation_held_on,
    conversation_late, attendees, agreed_actions, reaudit_due_on, reaudit_id,
    reaudit_graded_on, outcome, cancelled_reason, opened_at, closed_at)
SELECT id, audit_id, case_id, service_area, team_id, found_by, grading_day, status, step,
    owner_id, due_on, conversation_due_on, held_on, held_on > conversation_due_on,
    CASE WHEN held_on IS NULL THEN '[]'::json
        ELSE json_build_array(head_of_service, team_manager_id, practitioner_id) END,
    CASE WHEN held_on IS NULL THEN '[]'::json
        ELSE json_build_array({pick(_ACTION_ARRAY, 46)}, {pick(_ACTION_ARRAY, 47)}) END,
    held_on + 42, reaudit_id, reaudited_on,
    CASE WHEN reaudited_on IS NULL THEN NULL
        WHEN reaudit_grade = 3 THEN 'still_inadequate' ELSE 'improved' END,
    CASE WHEN status = 'cancelled'
        THEN 'Moderation regraded the audit as requires improvement' END,
    opened_at, closed_at
FROM bench_followups
"""

INSERT_TIMELINE = f"""
INSERT INTO followup_timeline (followup_id, at, what, detail)
SELECT id, opened_at, 'opened',
    json_build_object('found_by', found_by, 'event_id', 'bench-' || audit_id)
FROM bench_followups
UNION ALL
SELECT id, {uk_time("held_on", "15:00")}, 'reflective conversation held',
    json_build_object('held_on', held_on, 'late', held_on > conversation_due_on,
        'recorded_by', head_of_service)
FROM bench_followups WHERE held_on IS NOT NULL
UNION ALL
SELECT id, closed_at,
    CASE status WHEN 'completed' THEN 'completed' ELSE 'cancelled' END,
    CASE status WHEN 'completed' THEN json_build_object(
            'outcome', CASE WHEN reaudit_grade = 3 THEN 'still_inadequate' ELSE 'improved' END,
            'reaudit_id', reaudit_id)
        ELSE json_build_object(
            'reason', 'Moderation regraded the audit as requires improvement',
            'moderation_id', moderation_id) END
FROM bench_followups WHERE status <> 'open'
"""

# Two actions per conversation, owned by the case's team manager, due 2 and 4 weeks after it;
# done mostly on time, verified (or not achieved) at the re-audit.
BENCH_ACTIONS = f"""
CREATE TEMP TABLE bench_actions AS
SELECT x.*,
    CASE WHEN x.reaudited_on IS NOT NULL
            THEN CASE WHEN {u(52, "x.key")} < 0.8 THEN 'verified' ELSE 'not_achieved' END
        WHEN x.done_if < %(today)s::date THEN 'done' ELSE 'open' END AS status
FROM (
    SELECT f.g * 10 + p AS key, 'ACT-B' || lpad(f.g::text, 7, '0') || '-' || p AS id,
        f.id AS origin_id, f.audit_id, f.case_id, f.service_area, f.team_id, p - 1 AS position,
        {pick(_ACTION_ARRAY, "45 + p", "f.g")} AS what, f.team_manager_id AS owner_id,
        f.head_of_service AS agreed_by, f.auditor_id,
        {uk_time("f.held_on", "15:00")} + interval '1 second' AS agreed_at,
        {_ACTION_DUE} AS due_on, f.reaudited_on, f.reaudit_id,
        least(
            CASE WHEN {u(50, "f.g * 10 + p")} < 0.8
                THEN {_ACTION_DONE_ON_TIME} ELSE {_ACTION_DONE_LATE} END,
            f.reaudited_on - 1) AS done_if
    FROM bench_followups f
    CROSS JOIN generate_series(1, 2) AS p
    WHERE f.held_on IS NOT NULL
) x
"""

INSERT_ACTIONS = f"""
INSERT INTO actions (id, origin, origin_id, audit_id, case_id, service_area, team_id,
    position, what, owner_id, due_on, status, status_reason, evidence, history, agreed_by,
    agreed_at, done_on, reaudit_id)
SELECT id, 'followup', origin_id, audit_id, case_id, service_area, team_id, position, what,
    owner_id, due_on, status, NULL,
    CASE WHEN status = 'open' THEN '[]'::json ELSE json_build_array(json_build_object(
        'note', 'Recorded on the case file', 'by', owner_id,
        'at', {iso(uk_time("done_if", "16:00"))})) END,
    (jsonb_build_array(jsonb_build_object('what', 'agreed', 'by', agreed_by,
            'at', {iso("agreed_at")}))
        || CASE WHEN status = 'open' THEN '[]'::jsonb ELSE jsonb_build_array(
            jsonb_build_object('what', 'done', 'by', owner_id,
                'at', {iso(uk_time("done_if", "16:00"))})) END
        || CASE WHEN status IN ('verified', 'not_achieved') THEN jsonb_build_array(
            jsonb_build_object('what', replace(status, '_', ' '), 'by', auditor_id,
                'at', {iso(uk_time("reaudited_on", "12:00"))})) ELSE '[]'::jsonb END)::json,
    agreed_by, agreed_at, CASE WHEN status <> 'open' THEN done_if END,
    CASE WHEN status IN ('verified', 'not_achieved') THEN reaudit_id END
FROM bench_actions
"""

INSERT_SCHEDULER_ALLOCATIONS = f"""
INSERT INTO allocations (id, case_id, programme_id, month, service_area, team_id,
    practitioner_id, team_manager_id, auditor_id, due_on, status, allocated_at, settled_at,
    audit_id)
SELECT id, case_id, 'PRG-B-' || month, month, service_area, team_id, practitioner_id,
    team_manager_id, auditor_id,
    {back_to_weekday("(first_day + interval '1 month' - interval '1 day')::date")},
    CASE WHEN status = 'in_progress' THEN 'allocated' ELSE status END,
    {uk_time("first_day", "08:30")}, closed_at, audit_id
FROM bench_allocations
"""

# Timers. Each subject (a follow-up's step, an action, an allocation) has a reminder two
# working days before its day, one on the day and an escalation the working day after, then
# one every 2 working days while it is still overdue; a timer fires at 08:00 UK on its day.
# Those whose day has come are fired and kept as history; closing a follow-up, finishing an
# action or settling an allocation cancels what had not fired (services/scheduler/store.py).
# Only subjects still open on a day to come leave pending timers: many fired, few pending.
REPEATS = 10
"""At most this many repeated escalations per subject (the longest overdue ones stop here)."""


def _still_overdue(day: str) -> str:
    """Whether the subject was still overdue when its escalation of `day` fired."""
    return (
        f"(({day}) <= %(today)s::date"
        f" AND (s.ended_on IS NULL OR s.ended_on > ({day}))"
        f" AND (s.closes_at IS NULL OR s.closes_at > {uk_time(day, '08:00')}))"
    )


BENCH_TIMER_SUBJECTS = f"""
CREATE TEMP TABLE bench_timer_subjects AS
SELECT id AS followup_id, 'reflective_conversation' AS step, '' AS action_id,
    '' AS allocation_id, conversation_due_on AS due_on, held_on AS ended_on,
    closed_at AS closes_at
FROM bench_followups
UNION ALL
SELECT id, 'reaudit', '', '', held_on + 42, reaudited_on, closed_at
FROM bench_followups WHERE held_on IS NOT NULL
UNION ALL
SELECT origin_id, 'action', id, '', due_on, CASE WHEN status <> 'open' THEN done_if END,
    CASE WHEN status <> 'open' THEN {uk_time("done_if", "16:00")} END
FROM bench_actions
UNION ALL
SELECT '', 'allocation', '', id,
    {back_to_weekday("(first_day + interval '1 month' - interval '1 day')::date")},
    {uk_day("closed_at")}, closed_at
FROM bench_allocations
"""

INSERT_TIMERS = f"""
INSERT INTO timers (followup_id, step, action_id, allocation_id, kind, sequence, fire_at,
    fired_at, cancelled)
SELECT followup_id, step, action_id, allocation_id, kind, sequence, fire_at,
    CASE WHEN NOT cancelled AND day <= %(today)s::date
        THEN least(fire_at + interval '1 second', %(now)s) END,
    cancelled
FROM (
    SELECT t.*, {uk_time("t.day", "08:00")} AS fire_at,
        t.closes_at IS NOT NULL AND t.closes_at < {uk_time("t.day", "08:00")} AS cancelled
    FROM (
        SELECT s.followup_id, s.step, s.action_id, s.allocation_id, s.closes_at,
            'two_working_days_before' AS kind, 0 AS sequence,
            {two_working_days_before("s.due_on")} AS day
        FROM bench_timer_subjects s
        UNION ALL
        SELECT s.followup_id, s.step, s.action_id, s.allocation_id, s.closes_at,
            'due_today', 0, s.due_on
        FROM bench_timer_subjects s
        UNION ALL
        -- The escalation and its repeats: repeat r was planned when repeat r - 1 fired while
        -- the subject was still overdue (not ended, not closed, its day come).
        SELECT s.followup_id, s.step, s.action_id, s.allocation_id, s.closes_at,
            'overdue', r, {add_working_days("s.escalated_on", "2 * r")}
        FROM (
            SELECT s.*, {add_working_days("s.due_on", "1")} AS escalated_on
            FROM bench_timer_subjects s
        ) s
        CROSS JOIN LATERAL generate_series(
            0, CASE WHEN {_still_overdue("s.escalated_on")} THEN {REPEATS} ELSE 0 END) AS r
        WHERE r = 0 OR {_still_overdue(add_working_days("s.escalated_on", "2 * (r - 1)"))}
    ) t
) timer
"""

AUDIT_STEPS = (
    ("audits", INSERT_AUDITS),
    ("audit moderators", INSERT_AUDIT_MODERATORS),
    ("re-audit assignments", INSERT_REAUDIT_ASSIGNMENTS),
    ("case register", INSERT_CASE_REGISTER),
    ("programmes", INSERT_PROGRAMMES),
    ("allocations", INSERT_ALLOCATIONS),
)
MODERATION_STEPS = (("moderations", INSERT_MODERATIONS),)
SCHEDULER_STEPS = (
    ("audit facts", INSERT_AUDIT_FACTS),
    ("moderator facts", INSERT_MODERATOR_FACTS),
    ("moderation facts", INSERT_MODERATION_FACTS),
    ("follow-ups", INSERT_FOLLOWUPS),
    ("timeline", INSERT_TIMELINE),
    ("actions", INSERT_ACTIONS),
    ("allocations", INSERT_SCHEDULER_ALLOCATIONS),
    ("timers", INSERT_TIMERS),
)
"""What each service's database is filled with, in order, once the temporary tables exist."""

TEMPORARY = {
    "audit": (
        BENCH_AUDITS,
        BENCH_MODERATIONS,
        BENCH_FOLLOWUPS,
        BENCH_REAUDITS,
        BENCH_ALLOCATIONS,
        BENCH_DOMAIN_SETS,
    ),
    "moderation": (BENCH_MODERATED_AUDITS, BENCH_MODERATIONS),
    "scheduler": (
        BENCH_AUDITS,
        BENCH_MODERATIONS,
        BENCH_FOLLOWUPS,
        BENCH_REAUDITS,
        BENCH_ALLOCATIONS,
        BENCH_ACTIONS,
        BENCH_TIMER_SUBJECTS,
    ),
}
"""The temporary tables each database computes (the same rows in every one)."""
STEPS = {"audit": AUDIT_STEPS, "moderation": MODERATION_STEPS, "scheduler": SCHEDULER_STEPS}
TABLES = {
    "audit": (
        "audits",
        "audit_moderators",
        "reaudit_assignments",
        "case_register",
        "audit_programmes",
        "audit_allocations",
    ),
    "moderation": ("moderations",),
    "scheduler": (
        "audit_facts",
        "moderator_facts",
        "moderation_facts",
        "followups",
        "followup_timeline",
        "actions",
        "allocations",
        "timers",
    ),
}
"""The tables seeded, whose secondary indexes are built after the rows are in."""
