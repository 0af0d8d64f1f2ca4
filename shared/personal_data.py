"""Free text that looks like it names a child or says where they live, flagged before it is saved.

Audit learning, moderation rationales and agreed actions are meant to be about practice, and
they travel further than case records do (pages, statistics, board packs). A writer sometimes
types a child's name, date of birth or address into them anyway. Telling real personal data from
ordinary prose is not possible with certainty, so these are heuristics that err towards asking:
each finding becomes a `Caution` the writer confirms (shared.confirmations), never a refusal.
Messages never quote the text: the answer may be logged or shown to someone else.
"""

import re
from collections.abc import Iterable

from shared.confirmations import Caution

PERSONAL_DATA = "personal_data"
"""The code a writer sends in `confirmed` to keep free text flagged by these checks."""

_POSTCODE = re.compile(r"\b(?:GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})\b", re.IGNORECASE)
_STREET = (
    r"Road|Rd|Street|St|Avenue|Ave|Lane|Close|Drive|Way|Crescent|Court|Place|Gardens|"
    r"Terrace|Grove|Row|Square|Mews|Walk|Parade"
)
_ADDRESS = re.compile(
    rf"\b(?:\d{{1,4}}[A-Za-z]?,?\s+(?:[A-Z][a-z]+\s+){{1,3}}(?:{_STREET})\b|flat\s+\d+)",
    re.IGNORECASE,
)
_BIRTH = re.compile(r"\b(?:d\.?o\.?b\b\.?|date of birth|born (?:on|in)\b)", re.IGNORECASE)
_TITLED = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Master|Dr)\.?\s+[A-Z][a-z'-]+")
_INTRODUCED = re.compile(r"\b(?:called|named|known as)\s+[A-Z][a-z'-]+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")

# Capitalised words of ordinary practice writing; anything else capitalised mid-sentence may be
# a name. One string, split, because a list literal of 200 words would fill a page.
_NOT_NAMES = frozenset(
    """
    a an and the of in on at to for with by from i it its this that these those he she they we
    his her their our my your child children child's young person people family families mum
    mother dad father carer carers parent parents sibling siblings baby grandparent grandmother
    grandfather aunt uncle foster kinship team manager managers head service services assistant
    director practitioner practitioners social worker workers work auditor moderator early help
    protection plan plans care leaver leavers looked after need needs court family police school
    health nhs gp camhs ofsted local authority council signs safety bright spots back floor
    assessment review reviews conference core group strategy meeting visit visits supervision
    pathway statutory section public law outline plo cin cp cla ehcp send mash lado iro chronology
    genogram framework policy procedure procedures guidance standard standards
    monday tuesday wednesday thursday friday saturday sunday january february march
    april may june july august september october november december good outstanding requires
    improvement inadequate voice could better if when where why what who how there then also
    however but not no yes all some every each more most less very well while before after during
    """.split()  # noqa: SIM905
)


def _looks_like_a_name(text: str) -> bool:
    """A title or "called" before a capitalised word, or a capitalised word that is not one of
    practice writing's own, mid-sentence or possessive ("Sam's voice")."""
    if _TITLED.search(text) or _INTRODUCED.search(text):
        return True
    for match in _WORD.finditer(text):
        word = match.group()
        if not word[0].isupper() or word.isupper():
            continue
        if word.lower().removesuffix("'s") in _NOT_NAMES:
            continue
        before = text[: match.start()].rstrip()
        sentence_start = not before or before[-1] in ".!?:;\n"
        if word.endswith("'s") or not sentence_start:
            return True
    return False


def _what_it_looks_like(text: str) -> list[str]:
    found = []
    if _looks_like_a_name(text):
        found.append("a person's name")
    if _BIRTH.search(text):
        found.append("a date of birth")
    if _ADDRESS.search(text):
        found.append("an address")
    if _POSTCODE.search(text):
        found.append("a postcode")
    return found


def personal_data_cautions(field: str, text: str | None) -> list[Caution]:
    """A caution for `field` when `text` seems to hold a name, birth date, address or postcode."""
    found = _what_it_looks_like(text or "")
    if not found:
        return []
    return [
        Caution(
            PERSONAL_DATA,
            field,
            f"this looks like it holds {' and '.join(found)}: write about practice using the "
            "case reference only, never a child's or family member's details",
        )
    ]


def personal_data_cautions_in(field: str, texts: Iterable[str]) -> list[Caution]:
    """The same for each item of a list of texts, named `field[0]`, `field[1]`, ..."""
    return [
        caution
        for index, text in enumerate(texts)
        for caution in personal_data_cautions(f"{field}[{index}]", text)
    ]
