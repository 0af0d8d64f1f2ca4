"""Who audits each drawn case: a trained auditor from outside the case's team, least loaded first.
Pure.

An auditor is eligible for a case when trained and of team manager level or above
(`StaffMember.can_audit`), not a member of the case's team, neither the team's manager nor the
manager the case names, and not the case's practitioner: the audit is independent. Of those
eligible, the one holding the fewest open audits is chosen, counting the audits given earlier in
the same allocation, so a month's audits spread evenly. A tie is broken at random from the
programme's seed and the case id, so the seed reproduces the allocation; cases are taken in case
id order, whatever order they come in. A declined audit is reallocated the same way without
those who declined it. When nobody is eligible the case stays unallocated and the reason says so.
"""

import random
from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from services.audit.programme_draw import OpenCase
from shared.organisation import Organisation, StaffMember


@dataclass(frozen=True)
class AuditorChoice:
    case_id: str
    auditor_id: str | None
    """None when nobody is eligible; `why_auditor` then says so."""
    why_auditor: str


def allocate_auditors(
    drawn: Sequence[OpenCase], organisation: Organisation, load: Mapping[str, int], seed: int
) -> list[AuditorChoice]:
    """An auditor for each drawn case, in the order given; `load`: open audits already held."""
    held = Counter(load)
    chosen: dict[str, AuditorChoice] = {}
    for case in sorted(drawn, key=lambda c: c.case_id):
        choice = _choose(case, organisation, held, frozenset(), seed)
        if choice.auditor_id is not None:
            held[choice.auditor_id] += 1
        chosen[case.case_id] = choice
    return [chosen[case.case_id] for case in drawn]


def reallocate(
    case: OpenCase,
    organisation: Organisation,
    load: Mapping[str, int],
    excluded: Set[str],
    seed: int,
) -> AuditorChoice:
    """The next auditor for a declined case: as `allocate_auditors`, never one in `excluded`."""
    return _choose(case, organisation, load, excluded, seed)


def eligible_auditors(
    case: OpenCase, organisation: Organisation, excluded: Set[str] = frozenset()
) -> list[StaffMember]:
    """The trained auditors independent of the case, less `excluded`, in staff id order."""
    team = organisation.teams_by_id.get(case.team_id)
    conflicted = {case.team_manager_id, case.practitioner_id, *excluded}
    if team is not None:
        conflicted.add(team.team_manager)
    independent = (m for m in organisation.staff if m.can_audit and m.team != case.team_id)
    return sorted((m for m in independent if m.id not in conflicted), key=lambda m: m.id)


def _choose(
    case: OpenCase,
    organisation: Organisation,
    load: Mapping[str, int],
    excluded: Set[str],
    seed: int,
) -> AuditorChoice:
    eligible = eligible_auditors(case, organisation, excluded)
    if not eligible:
        return AuditorChoice(case.case_id, None, _nobody(case, excluded))
    fewest = min(load.get(m.id, 0) for m in eligible)
    least = [m.id for m in eligible if load.get(m.id, 0) == fewest]
    # Seeded so the programme's seed reproduces the choice: fairness, not secrecy, is wanted.
    rng = random.Random(f"{seed}:{case.case_id}:{','.join(sorted(excluded))}")  # noqa: S311
    auditor_id = rng.choice(least)
    why = (
        f"{auditor_id}: a trained auditor outside team {case.team_id} and not its manager, "
        f"holding {_audits(fewest)}, the fewest of {len(eligible)} eligible auditors"
    )
    if len(least) > 1:
        why += f" (chosen at random, seed {seed}, of the {len(least)} holding as few)"
    return AuditorChoice(case.case_id, auditor_id, why + _declined(excluded))


def _nobody(case: OpenCase, excluded: Set[str]) -> str:
    return (
        f"Not allocated: no trained auditor outside team {case.team_id} who is neither its "
        f"manager nor the case's practitioner{_declined(excluded)}"
    )


def _declined(excluded: Set[str]) -> str:
    return f", after {' and '.join(sorted(excluded))} declined" if excluded else ""


def _audits(count: int) -> str:
    return f"{count} open audit" + ("" if count == 1 else "s")
