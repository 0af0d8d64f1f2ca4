"""What every message is made of, whatever its event: its parts and how dates are written."""

from dataclasses import dataclass, field
from datetime import date


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
