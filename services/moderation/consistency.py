"""How consistent grading is: agreement, mean difference, direction and weighted kappa of
(auditor grade, moderated grade) pairs. Pure; the numbers are checked by hand in tests.

Every figure depends only on how often each pair occurred, so the database counts pairs
(`GROUP BY`) and `consistency_of_counts` turns the counts into figures: the same numbers as
from the pairs themselves, without loading a row per moderation.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.events.vocabulary import Grade, grade_difference, grade_index


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
    return consistency_of_counts(Counter(pairs))


def consistency_of_counts(counts: Mapping[tuple[Grade, Grade], int]) -> Consistency:
    """The same figures from how often each (auditor grade, moderated grade) pair occurred.

    Each share is a whole number of moderations over the total, so it is exactly the share
    counted pair by pair (no sum of fractions whose order could change the last digit).
    """
    count = sum(counts.values())
    if count == 0:
        return Consistency(0, 0.0, 0.0, 0.0, 0.0, None)
    differences = [(grade_difference(a, m), n) for (a, m), n in counts.items()]
    return Consistency(
        moderated=count,
        agreement_rate=round(sum(n for d, n in differences if d == 0) / count, 4),
        mean_absolute_difference=round(sum(abs(d) * n for d, n in differences) / count, 4),
        moderator_worse_share=round(sum(n for d, n in differences if d > 0) / count, 4),
        moderator_better_share=round(sum(n for d, n in differences if d < 0) / count, 4),
        weighted_kappa=weighted_kappa(counts),
    )


def quadratic_weighted_kappa(pairs: Sequence[tuple[Grade, Grade]]) -> float | None:
    """Cohen's kappa with weights (i - j)^2 / (k - 1)^2; None when chance agreement is total."""
    return weighted_kappa(Counter(pairs))


def weighted_kappa(counts: Mapping[tuple[Grade, Grade], int]) -> float | None:
    """The same kappa from how often each (auditor grade, moderated grade) pair occurred."""
    total = sum(counts.values())
    if total == 0:
        return None
    k = len(Grade)
    observed = [[0.0] * k for _ in range(k)]
    for (auditor, moderated), count in counts.items():
        observed[grade_index(auditor)][grade_index(moderated)] += count / total
    rows = [sum(observed[i]) for i in range(k)]
    columns = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    weight = [[(i - j) ** 2 / (k - 1) ** 2 for j in range(k)] for i in range(k)]
    disagreement = sum(weight[i][j] * observed[i][j] for i in range(k) for j in range(k))
    by_chance = sum(weight[i][j] * rows[i] * columns[j] for i in range(k) for j in range(k))
    return None if by_chance == 0 else round(1 - disagreement / by_chance, 4)
