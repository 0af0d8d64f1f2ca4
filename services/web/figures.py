"""The dashboards' figures, shaped from the statistics APIs' answers: pure, tested by hand; and
the one way every table of the web front downloads, as CSV or Excel (`download`).

Months are `YYYY-MM`. A month the API has no figures for is kept, empty, so a chart or table
shows it as such instead of dropping it.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from fastapi.responses import Response

from services.web.exports import Cell, Table, csv_response, xlsx_response
from services.web.pages import GRADES, label

GRADE_WORDS = {
    "outstanding": "were outstanding",
    "good": "were good",
    "requires_improvement": "required improvement",
    "inadequate": "were inadequate",
}
MONTHS_OFFERED = 24
DEFAULT_MONTHS = 8
Row = Mapping[str, Any]


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def month_add(month: str, months: int) -> str:
    """`2026-11` plus 2 is `2027-01`."""
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every month from `first` to `last`, both included."""
    months = []
    while first <= last:
        months.append(first)
        first = month_add(first, 1)
    return months


def month_label(month: str) -> str:
    """`2026-11` reads `November 2026`."""
    return f"{date.fromisoformat(f'{month}-01'):%B %Y}"


def figure(value: float) -> str:
    """One decimal at most: 60.0 is `60`, 10.42 is `10.4`."""
    return f"{value:.1f}".removesuffix(".0")


@dataclass(frozen=True)
class Period:
    first: str
    last: str

    @property
    def months(self) -> list[str]:
        return months_between(self.first, self.last)

    @property
    def name(self) -> str:
        return f"{month_label(self.first)} to {month_label(self.last)}"


def months_offered(this_month: str) -> list[str]:
    """The months a person may choose from, newest first."""
    return [month_add(this_month, -back) for back in range(MONTHS_OFFERED)]


def choose_period(
    from_month: str | None, to_month: str | None, this_month: str
) -> tuple[Period, dict[str, str]]:
    """The months asked for (by default the last 8 up to this one), or the form's errors."""
    default = Period(month_add(this_month, 1 - DEFAULT_MONTHS), this_month)
    first, last = from_month or default.first, to_month or default.last
    offered = months_offered(this_month)
    errors = {}
    if first not in offered:
        errors["from_month"] = "Choose a start month from the list"
    if last not in offered:
        errors["to_month"] = "Choose an end month from the list"
    if not errors and last < first:
        errors["to_month"] = "The end month must be the same as or after the start month"
    return (default, errors) if errors else (Period(first, last), {})


@dataclass(frozen=True)
class Group:
    """Whose audits a chart shows: `by` is the API's grouping, `key` the group's value."""

    by: str = "county"
    key: str = "county"
    name: str = "Whole county"

    @property
    def words(self) -> str:
        return "the whole county" if self.by == "county" else self.name


GROUP_FIELDS = ("service_area", "area", "team")


def choose_group(
    asked: Mapping[str, str | None], options: Mapping[str, Mapping[str, str]]
) -> tuple[Group, dict[str, str]]:
    """One of service area, area or team (`options[field]` maps values to names), or county."""
    chosen = [(name, value) for name in GROUP_FIELDS if (value := asked.get(name))]
    errors = {
        name: "Choose a service area, an area or a team from the list"
        for name, value in chosen
        if value not in options[name]
    }
    if not errors and len(chosen) > 1:
        errors[chosen[1][0]] = "Choose only one of service area, area or team"
    if errors or not chosen:
        return Group(), errors
    name, value = chosen[0]
    return Group(name, value, options[name][value]), {}


@dataclass(frozen=True)
class MonthGrades:
    month: str
    total: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GRADES, 0))
    percentages: dict[str, float] = field(default_factory=lambda: dict.fromkeys(GRADES, 0.0))


def grades_by_month(buckets: Iterable[Row], months: Sequence[str], group: str) -> list[MonthGrades]:
    """The group's buckets, one per month; a month without audits is an empty one."""
    found = {bucket["month"]: bucket for bucket in buckets if bucket["group"] == group}
    shaped = []
    for month in months:
        bucket = found.get(month)
        if bucket is None or not bucket["total"]:
            shaped.append(MonthGrades(month, 0))
            continue
        counts = {g: int(bucket["counts"].get(g, 0)) for g in GRADES}
        shares = {g: float(bucket["percentages"].get(g, 0.0)) for g in GRADES}
        shaped.append(MonthGrades(month, int(bucket["total"]), counts, shares))
    return shaped


def month_total(buckets: Iterable[Row], month: str) -> int:
    """Audits graded in `month`, over every group of the buckets."""
    return sum(int(bucket["total"]) for bucket in buckets if bucket["month"] == month)


def grades_description(rows: Sequence[MonthGrades], group: Group) -> str:
    """The grade chart in words, month by month."""
    months = Period(rows[0].month, rows[-1].month).name
    parts = [
        f"Overall grades of the audits of {group.words}, one 100% stacked bar per month "
        f"from {months}, from Outstanding to Inadequate."
    ]
    for row in rows:
        if not row.total:
            parts.append(f"{month_label(row.month)} had no audits.")
            continue
        shares = [f"{figure(row.percentages[g])}% {GRADE_WORDS[g]}" for g in GRADES]
        audits = "audit" if row.total == 1 else "audits"
        parts.append(
            f"In {month_label(row.month)}, of {row.total} {audits} "
            f"{', '.join(shares[:-1])} and {shares[-1]}."
        )
    return " ".join(parts)


def grades_table(rows: Sequence[MonthGrades], group: Group) -> Table:
    """The grade table: a month without audits has no percentages."""
    header = ["Month", "Group", "Audits"]
    header += [f"{label(g)} (%)" for g in GRADES] + [f"{label(g)} (number)" for g in GRADES]
    body: list[list[Cell]] = []
    for row in rows:
        shares = [number(row.percentages[g]) if row.total else None for g in GRADES]
        body.append([row.month, group.name, row.total, *shares, *(row.counts[g] for g in GRADES)])
    return table(f"Grades by month, {group.name}", header, body)


def by_month(rows: Iterable[Row], months: Sequence[str]) -> list[tuple[str, list[Row]]]:
    """Each month with its rows (by service area); a month with none has an empty list."""
    grouped: dict[str, list[Row]] = {month: [] for month in months}
    for row in rows:
        if row["month"] in grouped:
            grouped[row["month"]].append(row)
    return [
        (m, sorted(found, key=lambda r: str(r["service_area"]))) for m, found in grouped.items()
    ]


def series(
    rows: Iterable[Row], months: Sequence[str], measure: str, scale: float = 1.0
) -> dict[str, list[float | None]]:
    """One line per service area: `measure` (times `scale`) per month, None where none."""
    lines: dict[str, list[float | None]] = {}
    position = {month: index for index, month in enumerate(months)}
    for row in sorted(rows, key=lambda r: str(r["service_area"])):
        if row["month"] not in position:
            continue
        line = lines.setdefault(str(row["service_area"]), [None] * len(months))
        value = row.get(measure)
        line[position[row["month"]]] = None if value is None else round(value * scale, 4)
    return lines


def latest_words(
    lines: Mapping[str, Sequence[float | None]], months: Sequence[str], unit: str = ""
) -> str:
    """`In November 2026: Early help 80%, Care leavers 75%.` for the last month with figures."""
    for index in reversed(range(len(months))):
        values = [(area, line[index]) for area, line in lines.items() if line[index] is not None]
        if values:
            said = ", ".join(f"{label(area)} {figure(value or 0)}{unit}" for area, value in values)
            return f"In {month_label(months[index])}: {said}."
    return "There are no figures for these months."


@dataclass(frozen=True)
class ThemeRow:
    theme: str
    counts: list[int]
    total: int


@dataclass(frozen=True)
class ThemeTable:
    months: list[str]
    audits: list[int]  # audits seen each month
    rows: list[ThemeRow]


def theme_table(audits_by_month: Mapping[str, Sequence[Row]], months: Sequence[str]) -> ThemeTable:
    """How many audits carried each theme per month, most frequent theme first."""
    tallies = {month: Counter[str]() for month in months}
    for month in months:
        for audit in audits_by_month.get(month, ()):
            tallies[month].update(set(audit.get("themes") or ()))
    rows = []
    for theme in sorted({theme for tally in tallies.values() for theme in tally}):
        counts = [tallies[month][theme] for month in months]
        rows.append(ThemeRow(theme, counts, sum(counts)))
    rows.sort(key=lambda row: -row.total)  # stable: equal totals stay in alphabetical order
    audits = [len(audits_by_month.get(month, ())) for month in months]
    return ThemeTable(list(months), audits, rows)


def share(rate: float | None) -> str:
    """A 0..1 rate as a percentage: 0.8333 is `83.3`; no rate is empty."""
    return "" if rate is None else figure(100 * rate)


CONSISTENCY_HEADER = (
    "Month", "Service area", "Moderated", "Agreement (%)", "Weighted kappa",
    "Moderator graded worse (%)", "Moderator graded better (%)", "Mean absolute difference",
)  # fmt: skip


def consistency_table(months: Sequence[tuple[str, Sequence[Row]]]) -> Table:
    body: list[list[Cell]] = []
    for month, rows in months:
        body += [[month, *_consistency_cells(row)] for row in rows] or [[month, None, 0]]
    return table("Moderation consistency", CONSISTENCY_HEADER, body)


def _consistency_cells(row: Row) -> list[Cell]:
    return [
        label(row["service_area"]),
        row["moderated"],
        percentage(row["agreement_rate"]),
        row["weighted_kappa"],
        percentage(row["moderator_worse_share"]),
        percentage(row["moderator_better_share"]),
        row["mean_absolute_difference"],
    ]


TIMELINESS_COLUMNS = {
    "followups": "Follow-ups",
    "conversations_decided": "Conversations due",
    "conversations_on_time": "Conversations within 5 working days",
    "conversations_on_time_pct": "Conversations within 5 working days (%)",
    "reaudits_done": "Re-audits done",
    "reaudits_on_time": "Re-audits on time",
    "reaudits_on_time_pct": "Re-audits on time (%)",
    "improved": "Improved at re-audit",
    "improved_pct": "Improved at re-audit (%)",
}


def timeliness_table(months: Sequence[tuple[str, Sequence[Row]]]) -> Table:
    header = ["Month", "Service area", *TIMELINESS_COLUMNS.values()]
    body: list[list[Cell]] = []
    for month, rows in months:
        body += [[month, *_timeliness_cells(row)] for row in rows] or [[month, None, 0]]
    return table("Follow-up timeliness", header, body)


def _timeliness_cells(row: Row) -> list[Cell]:
    values = [row[column] for column in TIMELINESS_COLUMNS]
    return [label(row["service_area"]), *(number(v) if isinstance(v, float) else v for v in values)]


def themes_table(found: ThemeTable) -> Table:
    header = ["Theme", *found.months, "Total"]
    body: list[list[Cell]] = [["Audits seen", *found.audits, sum(found.audits)]]
    body += [[label(row.theme), *row.counts, row.total] for row in found.rows]
    return table("Themes per month", header, body)


def number(value: float | None) -> int | float | None:
    """A figure as a spreadsheet keeps it, one decimal at most as `figure` writes it: 60.0 is
    60, 10.42 is 10.4 (so the CSV reads as the page and Excel sums it)."""
    if value is None:
        return None
    rounded = round(float(value), 1)
    return int(rounded) if rounded.is_integer() else rounded


def percentage(rate: float | None) -> int | float | None:
    """A 0..1 rate as a percentage figure, as `share` writes it: 0.8333 is 83.3."""
    return None if rate is None else number(100 * rate)


def table(title: str, header: Sequence[str], body: Iterable[Sequence[Cell]]) -> Table:
    return Table(title, tuple(header), tuple(tuple(row) for row in body))


# --- downloads: one table, as CSV or as Excel ----------------------------------------------

Kind = Literal["csv", "xlsx"]
"""The formats every table downloads in: the address's ending."""
MOST_ROWS = 5000
"""The most rows a list's download holds; a longer list is cut, and the file says so."""


def download(kind: Kind, found: Table, stem: str) -> Response:
    """The table as `stem.csv` or `stem.xlsx` (one sheet named by its title)."""
    if kind == "csv":
        return csv_response(found, f"{stem}.csv")
    return xlsx_response([found], found.title, f"{stem}.xlsx")


def every_row(
    fetch: Callable[[int, int], list[dict[str, Any]]], most: int = MOST_ROWS, page: int = 500
) -> tuple[list[dict[str, Any]], bool]:
    """Every row of a list the API pages (`fetch(limit, offset)`), up to `most`; and whether
    there were more than that (one row asked beyond says so)."""
    found: list[dict[str, Any]] = []
    while len(found) <= most:
        asked = min(page, most + 1 - len(found))
        rows = fetch(asked, len(found))
        found += rows
        if len(rows) < asked:
            break
    return found[:most], len(found) > most


def list_table(
    title: str, header: Sequence[str], body: Iterable[Sequence[Cell]], cut: bool
) -> Table:
    """A list as a table; when it was cut, a last row says so (a file read alone tells)."""
    rows = [tuple(row) for row in body]
    if cut:
        note = f"Only the first {MOST_ROWS} rows are here: filter the list to download the rest."
        rows.append((note, *([None] * (len(header) - 1))))
    return table(title, header, rows)
