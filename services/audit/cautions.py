"""What an audit may hold but should be looked at again before it is saved. Pure.

Each is a `Caution` (shared.confirmations): the auditor sees it and either changes the audit or
confirms it, because the auditor may be right and a refusal would stop them.
"""

from shared.confirmations import Caution
from shared.events.vocabulary import Grade, grade_index
from shared.personal_data import personal_data_cautions, personal_data_cautions_in

GRADES_DISAGREE = "overall_grade_against_domains"
"""The code that confirms an overall grade far from every domain grade."""

FAR_APART = 2
"""Grades this many steps apart (good and inadequate, outstanding and requires improvement)
contradict each other rather than weigh domains differently."""


def grade_cautions(overall: Grade, domains: list[Grade]) -> list[Caution]:
    """A caution when the overall grade is far from every domain grade, all on one side."""
    steps = [grade_index(domain) - grade_index(overall) for domain in domains]
    better = all(step >= FAR_APART for step in steps)
    worse = all(step <= -FAR_APART for step in steps)
    if not domains or not (better or worse):
        return []
    side = "worse" if better else "better"
    return [
        Caution(
            GRADES_DISAGREE,
            "overall_grade",
            f"the overall grade is {overall.replace('_', ' ')} but every domain is graded "
            f"at least {FAR_APART} grades {side}: check the grades",
        )
    ]


def free_text_cautions(points: list[str], voice_note: str | None) -> list[Caution]:
    """Learning points and the voice-of-the-child note that look like they hold personal data."""
    return personal_data_cautions_in("could_be_better_if", points) + personal_data_cautions(
        "voice_of_child.note", voice_note
    )
