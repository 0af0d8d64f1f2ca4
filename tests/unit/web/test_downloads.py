"""Downloads: every dashboard table and every list a manager sees, as CSV and as Excel from one
`exports.Table`, read back (csv, openpyxl) with the page's figures, within the API's scope."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from services.web import figures, listing
from services.web.views import audits
from shared.clock import FixedClock
from tests.unit.web.pages import FakeBackends, page, sign_in, web
from tests.unit.web.test_action_pages import action
from tests.unit.web.test_audits_recording import stored_audit
from tests.unit.web.test_dashboards import (
    NOVEMBER,
    bucket,
    consistency_row,
    timeliness_row,
)
from tests.unit.web.test_followup_pages import followup
from tests.unit.web.test_programme_pages import allocation, programme

HEAD_OF_SERVICE, QA_LEAD, PRACTITIONER = "S0003", "S0004", "S0006"
TODAY = datetime(2026, 11, 20, 12, tzinfo=UTC)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def fixed_days(monkeypatch):
    monkeypatch.setattr(listing, "today", lambda: date(2026, 11, 25))
    monkeypatch.setattr(audits, "now", lambda: TODAY)


def csv_rows(answer) -> list[list[str]]:
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


def sheet_rows(answer) -> tuple[str, list[list[object]]]:
    """The one sheet's name and rows of an xlsx download."""
    assert answer.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(answer.content))
    assert len(book.worksheets) == 1
    sheet = book.worksheets[0]
    return sheet.title, [list(row) for row in sheet.iter_rows(values_only=True)]


def as_text(rows: list[list[object]]) -> list[list[str]]:
    """Sheet rows as a CSV has them: no value is empty text."""
    return [["" if cell is None else str(cell) for cell in row] for row in rows]


@pytest.fixture
def signed_in():
    """A Head of Service on 20 November 2026, with the fakes to fill per test."""
    fakes = FakeBackends({"notifications.inbox": {"unread": 0, "items": []}})
    with web(fakes) as client:
        client.app.state.clock = FixedClock(TODAY)
        sign_in(client, HEAD_OF_SERVICE)
        yield client, fakes


# --- dashboards -----------------------------------------------------------------------------


def test_the_grades_table_downloads_as_excel_with_the_figures_of_the_page_and_the_csv(signed_in):
    client, fakes = signed_in
    fakes.answers["audit.grade_stats"] = [NOVEMBER]
    query = "from_month=2026-10&to_month=2026-11"
    soup = page(client.get(f"/dashboards/grades?{query}"))
    links = [a["href"] for a in soup.select(".app-downloads a")]
    assert links == [f"/dashboards/grades.csv?{query}", f"/dashboards/grades.xlsx?{query}"]
    shown = [td.get_text(strip=True) for td in soup.select("tbody tr")[1].select("td")]
    assert shown == ["48", "10.4% (5)", "20.8% (10)", "60.4% (29)", "8.3% (4)"]
    answer = client.get(links[1])
    assert answer.headers["content-disposition"] == (
        'attachment; filename="grades-2026-10-to-2026-11.xlsx"'
    )
    assert answer.headers["cache-control"] == "no-store"
    name, rows = sheet_rows(answer)
    assert name.startswith("Grades by month")
    assert rows[0][:4] == ["Month", "Group", "Audits", "Outstanding (%)"]
    assert rows[2] == ["2026-11", "Whole county", 48, 10.4, 20.8, 60.4, 8.3, 5, 10, 29, 4]
    assert rows[1] == ["2026-10", "Whole county", 0, None, None, None, None, 0, 0, 0, 0]
    assert as_text(rows) == csv_rows(client.get(links[0]))


def test_a_teams_grades_download_is_named_by_the_team(signed_in):
    client, fakes = signed_in
    fakes.answers["audit.grade_stats"] = [bucket("2026-11", (1, 1, 1, 1), group="EH-NORTH")]
    answer = client.get("/dashboards/grades.xlsx?from_month=2026-11&to_month=2026-11&team=EH-NORTH")
    assert answer.headers["content-disposition"].endswith(
        '"grades-EH-NORTH-2026-11-to-2026-11.xlsx"'
    )
    _, rows = sheet_rows(answer)
    assert rows[1][:4] == ["2026-11", "Early Help North", 4, 25]


def test_the_consistency_table_downloads_as_excel_with_the_csvs_figures(signed_in):
    client, fakes = signed_in
    fakes.answers["moderation.consistency"] = [
        consistency_row("2026-11", "early_help"),
        consistency_row("2026-11", "care_leavers", weighted_kappa=None),
    ]
    query = "from_month=2026-10&to_month=2026-11"
    _, rows = sheet_rows(client.get(f"/dashboards/consistency.xlsx?{query}"))
    assert rows[1] == ["2026-10", None, 0, None, None, None, None, None]
    assert rows[2] == ["2026-11", "Care leavers", 6, 83.3, None, 16.7, 0, 0.1667]
    assert rows[3] == ["2026-11", "Early help", 6, 83.3, 0.7143, 16.7, 0, 0.1667]
    csv_text = csv_rows(client.get(f"/dashboards/consistency.csv?{query}"))
    assert as_text(rows) == [row + [""] * (8 - len(row)) for row in csv_text]


def test_the_timeliness_table_downloads_as_excel(signed_in):
    client, fakes = signed_in
    fakes.answers["scheduler.timeliness"] = [timeliness_row("2026-10", "family_safeguarding")]
    query = "from_month=2026-10&to_month=2026-11"
    soup = page(client.get(f"/dashboards/timeliness?{query}"))
    assert soup.select_one(f"a[href='/dashboards/timeliness.xlsx?{query}']") is not None
    _, rows = sheet_rows(client.get(f"/dashboards/timeliness.xlsx?{query}"))
    assert rows[1] == ["2026-10", "Family safeguarding", 4, 4, 3, 75, 2, 1, 33.3, 1, 50]
    assert rows[2][:3] == ["2026-11", None, 0]


def test_the_themes_table_downloads_as_excel(signed_in):
    client, fakes = signed_in
    fakes.answers["audit.audits"] = lambda month, limit, offset: (
        [{"themes": ["planning", "recording"]}, {"themes": ["planning"]}]
        if month == "2026-11" and offset == 0
        else []
    )
    _, rows = sheet_rows(client.get("/dashboards/themes.xlsx?from_month=2026-10&to_month=2026-11"))
    assert rows == [
        ["Theme", "2026-10", "2026-11", "Total"],
        ["Audits seen", 0, 2, 2],
        ["Planning", 0, 2, 2],
        ["Recording", 0, 1, 1],
    ]


def test_a_download_in_another_format_or_with_a_bad_filter_is_refused(signed_in):
    client, _ = signed_in
    assert client.get("/dashboards/grades.pdf").status_code == 400
    assert client.get("/dashboards/grades.xlsx?from_month=1999-01").status_code == 422


# --- lists ------------------------------------------------------------------------------------


def test_the_audits_list_downloads_every_page_as_filtered(signed_in):
    client, fakes = signed_in
    many = [stored_audit(id=f"AUD-{n:04d}") for n in range(730)]
    fakes.answers["audit.audits"] = lambda limit, offset, **_: many[offset : offset + limit]
    soup = page(client.get("/audits?grade=inadequate&month=2026-11"))
    links = [a["href"] for a in soup.select(".app-downloads a")]
    assert links == [
        "/audits.csv?month=2026-11&grade=inadequate",
        "/audits.xlsx?month=2026-11&grade=inadequate",
    ]
    fakes.calls.clear()
    rows = csv_rows(client.get(links[0]))
    asked = [kwargs for name, _, kwargs in fakes.calls if name == "audit.audits"]
    assert asked[0] == {"month": "2026-11", "grade": "inadequate", "limit": 500, "offset": 0}
    assert asked[1]["offset"] == 500
    assert rows[0] == list(audits.AUDIT_COLUMNS)
    assert len(rows) == 731
    assert rows[1] == [
        "AUD-0000", "CASE-000123", "Learning", "Early help", "Early Help North", "Femi Fischer",
        "Chloe Carter", "2026-11-25", "Inadequate", "Visits",
    ]  # fmt: skip
    _, sheet = sheet_rows(client.get(links[1]))
    assert as_text(sheet) == rows


def test_a_list_longer_than_the_most_a_download_holds_is_cut_and_says_so(signed_in):
    client, fakes = signed_in
    fakes.answers["audit.audits"] = lambda limit, offset, **_: [
        stored_audit(id=f"AUD-{offset + n}") for n in range(limit)
    ]
    rows = csv_rows(client.get("/audits.csv"))
    assert len(rows) == 1 + figures.MOST_ROWS + 1
    assert rows[-1][0].startswith("Only the first 5000 rows are here")
    offsets = [kwargs["offset"] for name, _, kwargs in fakes.calls if name == "audit.audits"]
    assert offsets == list(range(0, 5001, 500))


def test_every_row_stops_at_a_short_page_and_knows_when_there_were_more():
    found, cut = figures.every_row(lambda limit, offset: [{"n": n} for n in range(3)][offset:])
    assert (len(found), cut) == (3, False)
    exactly = [{"n": n} for n in range(10)]
    found, cut = figures.every_row(lambda limit, offset: exactly[offset : offset + limit], 10, 4)
    assert (len(found), cut) == (10, False)
    found, cut = figures.every_row(lambda limit, offset: exactly[offset : offset + limit], 9, 4)
    assert (len(found), cut) == (9, True)


def test_the_follow_ups_list_downloads_with_its_filters(signed_in):
    client, fakes = signed_in
    fakes.answers["scheduler.followups"] = [followup(), followup(id="F-2", overdue=True)]
    soup = page(client.get("/followups?status=open&service_area=early_help"))
    links = [a["href"] for a in soup.select(".app-downloads a")]
    assert links[1] == "/followups.xlsx?status=open&service_area=early_help"
    fakes.calls.clear()
    answer = client.get(links[1])
    assert answer.headers["content-disposition"].endswith('"followups-open-early_help.xlsx"')
    asked = [kwargs for name, _, kwargs in fakes.calls if name == "scheduler.followups"]
    assert asked == [{"status": "open", "service_area": "early_help", "limit": 500, "offset": 0}]
    _, rows = sheet_rows(answer)
    assert rows[0][:3] == ["Reference", "Case", "Audit"]
    assert rows[1][:11] == [
        "F-1", "CASE-101", "A-1", "Early help", "Early Help North", "2026-11-18", "Open", "No",
        "Reflective conversation", "Chloe Carter", "2026-11-25",
    ]  # fmt: skip
    assert rows[2][7] == "Yes"
    assert as_text(rows) == csv_rows(client.get(links[0]))


def test_my_actions_a_cases_actions_and_the_overdue_ones_download(signed_in):
    client, fakes = signed_in
    fakes.answers["scheduler.actions"] = [action(), action(id="ACT-2", overdue=True)]
    soup = page(client.get("/actions?status=open"))
    assert [a["href"] for a in soup.select(".app-downloads a")] == [
        "/actions.csv?status=open",
        "/actions.xlsx?status=open",
    ]
    fakes.calls.clear()
    _, rows = sheet_rows(client.get("/actions.xlsx?status=open"))
    asked = [kwargs for name, _, kwargs in fakes.calls if name == "scheduler.actions"]
    assert asked == [{"owner": HEAD_OF_SERVICE, "status": "open", "limit": 500, "offset": 0}]
    assert rows[1] == [
        "ACT-1", "CASE-101", "Update the child's plan with SMART outcomes", "Early help",
        "Early Help North", "Femi Fischer", "2026-11-27", "Open", "No", "2026-11-18",
    ]  # fmt: skip
    case = page(client.get("/cases/CASE-101/actions"))
    assert case.select_one("a[href='/cases/CASE-101/actions.xlsx']") is not None
    fakes.calls.clear()
    answer = client.get("/cases/CASE-101/actions.csv")
    assert answer.headers["content-disposition"].endswith('"actions-CASE-101.csv"')
    assert [kwargs for name, _, kwargs in fakes.calls if name == "scheduler.actions"] == [
        {"case_id": "CASE-101", "status": "", "limit": 500, "offset": 0}  # "" is not sent
    ]
    assert len(csv_rows(answer)) == 3
    overdue = page(client.get("/actions/overdue?service_area=early_help"))
    link = overdue.select(".app-downloads a")[1]["href"]
    assert link == "/actions/overdue.xlsx?service_area=early_help"
    fakes.calls.clear()
    _, rows = sheet_rows(client.get(link))
    assert [kwargs for name, _, kwargs in fakes.calls if name == "scheduler.actions"] == [
        {"overdue": True, "service_area": "early_help", "limit": 500, "offset": 0}
    ]
    assert [row[0] for row in rows[1:]] == ["ACT-1", "ACT-2"]


def test_the_programmes_allocations_download_as_its_page_lists_them():
    fakes = FakeBackends({"audit.programme": programme(), "audit.programme_stats": None})
    with web(fakes) as client:
        sign_in(client, QA_LEAD)
        soup = page(client.get("/programme/2026-12"))
        links = [a["href"] for a in soup.select(".app-downloads a")]
        assert links == [
            "/programme/2026-12/allocations.csv",
            "/programme/2026-12/allocations.xlsx",
        ]
        name, rows = sheet_rows(client.get(links[1]))
        csv_text = csv_rows(client.get(links[0]))
    assert name == "Allocations, December 2026"
    assert [row[:8] for row in rows[1:]] == [
        ["ALC-1", "CASE-101", "Early help", "Early Help North", "Marcus Mensah", "2026-12-31",
         "Allocated", "No"],
        ["ALC-2", "CASE-102", "Early help", "Early Help North", "Marcus Mensah", "2026-12-31",
         "In progress", "Yes"],
    ]  # fmt: skip
    assert rows[1][9] == allocation()["why_case"]
    assert as_text(rows) == csv_text


def test_the_same_table_gives_the_same_workbook_each_time(signed_in):
    client, fakes = signed_in
    fakes.answers["audit.grade_stats"] = [NOVEMBER]
    first = client.get("/dashboards/grades.xlsx?from_month=2026-10&to_month=2026-11").content
    again = client.get("/dashboards/grades.xlsx?from_month=2026-10&to_month=2026-11").content
    assert first == again
