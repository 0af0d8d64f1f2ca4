"""What every message is made of, whatever its event: its parts and how dates are written."""

from dataclasses import dataclass, field
from datetime import date

from shared.events.vocabulary import Grade


@dataclass(frozen=True)
class Message:
    subject: str
    headline: str
    lines: list[str] = field(default_factory=list)
    link_path: str = ""
    link_label: str = "Open the record"


def long_date(day: date) -> str:
    """As a letter writes it: Friday 4 December 2026."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def month_words(month: str) -> str:
    """A programme's month ("2026-12") as people say it: December 2026."""
    return f"{date.fromisoformat(f'{month}-01'):%B %Y}"


def grade_words(grade: Grade) -> str:
    """As the report writes a grade: Requires improvement."""
    return grade.value.replace("_", " ").capitalize()
