"""Moderation rules: which audits are moderated, by whom, and how consistent grading is.

Pure functions; the numbers are checked by hand in tests/unit/moderation.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from shared.events.vocabulary import Grade, ModerationReason, grade_difference, grade_index
from shared.organisation import StaffMember


def sample_point(audit_id: str) -> float:
    """A number in [0, 1) fixed by the audit id, so a redelivered event is sampled alike."""
    digest = hashlib.sha256(audit_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def moderation_reason(audit_id: str, overall_grade: Grade, rate: float) -> ModerationReason | None:
    """Every Inadequate audit is moderated; others when their sample point falls under the rate."""
    if overall_grade is Grade.INADEQUATE:
        return ModerationReason.INADEQUATE
    return ModerationReason.SAMPLED if sample_point(audit_id) < rate else None


def choose_moderator(
    pool: Sequence[StaffMember], open_items: Mapping[str, int], excluded: Iterable[str]
) -> StaffMember | None:
    """The least loaded moderator who is neither the auditor nor the case's team manager."""
    barred = set(excluded)
    eligible = [member for member in pool if member.id not in barred]
    return min(eligible, key=lambda m: (open_items.get(m.id, 0), m.id), default=None)


@dataclass(frozen=True)
class Consistency:
    moderated: int
    agreement_rate: float
    mean_absolute_difference: float
    moderator_worse_share: float
    moderator_better_share: float
    weighted_kappa: float | None


def consistency(pairs: Sequence[tuple[Grade, Grade]]) -> Consistency:
    """Agreement between (auditor grade, moderated grade) pairs; kappa is quadratic-weighted."""
    if not pairs:
        return Consistency(0, 0.0, 0.0, 0.0, 0.0, None)
    differences = [grade_difference(auditor, moderated) for auditor, moderated in pairs]
    count = len(pairs)
    return Consistency(
        moderated=count,
        agreement_rate=round(sum(d == 0 for d in differences) / count, 4),
        mean_absolute_difference=round(sum(abs(d) for d in differences) / count, 4),
        moderator_worse_share=round(sum(d > 0 for d in differences) / count, 4),
        moderator_better_share=round(sum(d < 0 for d in differences) / count, 4),
        weighted_kappa=quadratic_weighted_kappa(pairs),
    )


def quadratic_weighted_kappa(pairs: Sequence[tuple[Grade, Grade]]) -> float | None:
    """Cohen's kappa with weights (i - j)^2 / (k - 1)^2; None when chance agreement is total."""
    k = len(Grade)
    observed = [[0.0] * k for _ in range(k)]
    for auditor, moderated in pairs:
        observed[grade_index(auditor)][grade_index(moderated)] += 1 / len(pairs)
    rows = [sum(observed[i]) for i in range(k)]
    columns = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    weight = [[(i - j) ** 2 / (k - 1) ** 2 for j in range(k)] for i in range(k)]
    disagreement = sum(weight[i][j] * observed[i][j] for i in range(k) for j in range(k))
    by_chance = sum(weight[i][j] * rows[i] * columns[j] for i in range(k) for j in range(k))
    return None if by_chance == 0 else round(1 - disagreement / by_chance, 4)


def disagreement_rate(recent_differences: Sequence[int]) -> float:
    return sum(d != 0 for d in recent_differences) / len(recent_differences)


def adaptive_rate(
    recent_differences: Sequence[int],
    current_rate: float,
    *,
    window: int,
    threshold: float,
    raised_rate: float,
) -> float | None:
    """The raised rate when the last `window` moderations disagree more than `threshold`.

    None when nothing should change: too few moderations yet, disagreement within bounds, or
    the rate is already at least as high (a person may have set it higher).
    """
    if len(recent_differences) < window or current_rate >= raised_rate:
        return None
    return raised_rate if disagreement_rate(recent_differences[:window]) > threshold else None
