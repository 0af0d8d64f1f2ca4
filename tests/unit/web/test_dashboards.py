"""Dashboards: figures shaped by hand-checked numbers, charts as accessible SVG, pages and CSVs."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest

from services.web.charts import Panel, Words, accessible, grade_bars, line_panels, target_bar
from services.web.clients.api import ApiError
from services.web.figures import (
    Group,
    MonthGrades,
    Period,
    choose_group,
    choose_period,
    grades_by_month,
    grades_description,
    latest_words,
    month_add,
    month_total,
    months_between,
    series,
    theme_table,
)
from shared.clock import FixedClock
from tests.unit.web.pages import FakeBackends, page, sign_in, text, web

GRADES = ("outstanding", "good", "requires_improvement", "inadequate")
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
TODAY = datetime(2026, 11, 20, 12, tzinfo=UTC)
OPTIONS = {
    "service_area": {"early_help": "Early help"},
    "area": {"north": "North"},
    "team": {"EH-NORTH": "Early Help North"},
}


def bucket(month: str, counts: tuple[int, int, int, int], group: str = "county") -> dict:
    total = sum(counts)
    return {
        "month": month,
        "group": group,
        "total": total,
        "counts": dict(zip(GRADES, counts, strict=True)),
        "percentages": {g: round(100 * c / total, 1) for g, c in zip(GRADES, counts, strict=True)},
    }


APRIL = bucket("2026-04", (4, 20, 12, 4))  # 10%, 50%, 30%, 10% of 40
NOVEMBER = bucket("2026-11", (5, 10, 29, 4))  # 10.4%, 20.8%, 60.4%, 8.3% of 48


def consistency_row(month: str, area: str, **changes: object) -> dict:
    row = {
        "month": month,
        "service_area": area,
        "moderated": 6,
        "agreement_rate": 0.8333,  # 5 of 6
        "mean_absolute_difference": 0.1667,
        "moderator_worse_share": 0.1667,
        "moderator_better_share": 0.0,
        "weighted_kappa": 0.7143,
    }
    return row | changes


def timeliness_row(month: str, area: str) -> dict:
    return {
        "month": month,
        "service_area": area,
        "followups": 4,
        "conversations_decided": 4,
        "conversations_on_time": 3,
        "conversations_on_time_pct": 75.0,
        "reaudits_done": 2,
        "reaudits_on_time": 1,
        "reaudits_on_time_pct": 33.3,  # 1 of 3 due: one is overdue
        "improved": 1,
        "improved_pct": 50.0,
    }


TARGET = {
    "month": "2026-11",
    "target": 50,
    "done": 31,
    "remaining": 19,
    "working_days_in_month": 21,
    "working_days_left": 7,
    "expected_by_now": 33,
    "on_pace": False,
    "needed_per_working_day": 2.7,
}


# Months, periods and groups


def test_months_run_across_the_turn_of_the_year():
    assert month_add("2026-11", 2) == "2027-01"
    assert month_add("2026-01", -1) == "2025-12"
    assert months_between("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert months_between("2026-05", "2026-04") == []


def test_by_default_a_dashboard_shows_the_eight_months_up_to_this_one_april_to_november():
    period, errors = choose_period(None, None, "2026-11")
    assert errors == {}
    assert period == Period("2026-04", "2026-11")
    assert period.name == "April 2026 to November 2026"
    assert len(period.months) == 8


def test_a_period_ending_before_it_starts_or_outside_the_offered_months_is_an_error():
    assert choose_period("2026-09", "2026-06", "2026-11")[1] == {
        "to_month": "The end month must be the same as or after the start month"
    }
    assert choose_period("2024-11", None, "2026-11")[1] == {
        "from_month": "Choose a start month from the list"
    }
    assert choose_period("2026-12", "nonsense", "2026-11")[1].keys() == {"from_month", "to_month"}


def test_no_group_chosen_is_the_whole_county_and_a_team_is_grouped_by_team():
    assert choose_group({}, OPTIONS) == (Group(), {})
    assert choose_group({"team": "EH-NORTH"}, OPTIONS) == (
        Group("team", "EH-NORTH", "Early Help North"),
        {},
    )


def test_more_than_one_group_or_an_unknown_one_is_an_error_on_its_field():
    group, errors = choose_group({"area": "north", "team": "EH-NORTH"}, OPTIONS)
    assert group == Group()
    assert errors == {"team": "Choose only one of service area, area or team"}
    assert choose_group({"service_area": "martians"}, OPTIONS)[1] == {
        "service_area": "Choose a service area, an area or a team from the list"
    }


# Grades


def test_the_groups_buckets_are_picked_and_months_without_audits_kept_empty():
    other = bucket("2026-05", (1, 1, 1, 1), group="EH-SOUTH")
    mine = bucket("2026-06", (0, 1, 2, 1), group="EH-NORTH")
    rows = grades_by_month([other, mine], ["2026-05", "2026-06", "2026-07"], "EH-NORTH")
    assert [row.month for row in rows] == ["2026-05", "2026-06", "2026-07"]
    assert [row.total for row in rows] == [0, 4, 0]
    assert rows[1].counts == {
        "outstanding": 0,
        "good": 1,
        "requires_improvement": 2,
        "inadequate": 1,
    }
    assert rows[1].percentages["requires_improvement"] == 50.0
    assert rows[0] == MonthGrades("2026-05", 0)


def test_the_grade_chart_is_described_month_by_month_in_words():
    rows = grades_by_month([NOVEMBER], ["2026-10", "2026-11"], "county")
    assert grades_description(rows, Group()) == (
        "Overall grades of the audits of the whole county, one 100% stacked bar per month from "
        "October 2026 to November 2026, from Outstanding to Inadequate. "
        "October 2026 had no audits. "
        "In November 2026, of 48 audits 10.4% were outstanding, 20.8% were good, "
        "60.4% required improvement and 8.3% were inadequate."
    )


def test_a_months_total_adds_every_group_of_that_month():
    buckets = [bucket("2026-10", (1, 2, 3, 4), "a"), bucket("2026-10", (0, 0, 5, 0), "b"), APRIL]
    assert month_total(buckets, "2026-10") == 15
    assert month_total(buckets, "2026-09") == 0


# Lines and themes


def test_a_series_is_one_line_per_service_area_with_gaps_where_a_month_has_no_figure():
    rows = [
        consistency_row("2026-09", "early_help", agreement_rate=0.5),
        consistency_row("2026-11", "early_help"),
        consistency_row("2026-11", "care_leavers", weighted_kappa=None),
    ]
    months = ["2026-09", "2026-10", "2026-11"]
    assert series(rows, months, "agreement_rate", 100) == {
        "care_leavers": [None, None, 83.33],
        "early_help": [50.0, None, 83.33],
    }
    assert series(rows, months, "weighted_kappa")["care_leavers"] == [None, None, None]


def test_the_lines_are_said_in_words_for_the_last_month_with_figures():
    lines = {"early_help": [50.0, 83.33, None], "care_leavers": [None, 75.0, None]}
    said = latest_words(lines, ["2026-09", "2026-10", "2026-11"], "%")
    assert said == "In October 2026: Early help 83.3%, Care leavers 75%."
    assert latest_words({}, ["2026-11"]) == "There are no figures for these months."


def test_themes_are_counted_once_per_audit_per_month_most_frequent_first():
    audits = {
        "2026-10": [
            {"themes": ["planning", "voice_of_child"]},
            {"themes": ["voice_of_child", "voice_of_child"]},
            {"themes": []},
        ],
        "2026-11": [{"themes": ["recording"]}, {"themes": ["planning"]}],
    }
    table = theme_table(audits, ["2026-09", "2026-10", "2026-11"])
    assert table.audits == [0, 3, 2]
    assert [(r.theme, r.counts, r.total) for r in table.rows] == [
        ("planning", [0, 1, 1], 2),
        ("voice_of_child", [0, 2, 0], 2),
        ("recording", [0, 0, 1], 1),
    ]


# Charts


def test_a_chart_is_an_image_named_by_its_title_and_description_as_first_children():
    svg = str(grade_bars(grades_by_month([NOVEMBER], ["2026-11"], "county"), words()))
    root = re.match(r"<svg [^>]*>", svg)
    assert root
    assert 'role="img"' in root.group()
    assert 'aria-labelledby="chart-title chart-desc"' in root.group()
    after_root = svg[root.end() :]
    assert after_root.startswith(
        '<title id="chart-title">Grades &amp; more</title><desc id="chart-desc">'
        "In &lt;November&gt;</desc>"
    )


def test_charts_load_nothing_keep_their_text_as_text_and_are_the_same_each_time():
    rows = grades_by_month([APRIL], ["2026-04", "2026-05"], "county")
    charts = [
        str(grade_bars(rows, words())),
        str(target_bar(31, 50, 33, words())),
        str(
            line_panels(["2026-10", "2026-11"], [Panel("Agreement", {"x": [None, 80.0]})], words())
        ),
    ]
    for svg in charts:
        assert set(re.findall(r"https?://[^\"'\s]+", svg)) <= NAMESPACES
        assert "<script" not in svg
        assert "@font-face" not in svg
        assert "<text" in svg
    assert str(grade_bars(rows, words())) == charts[0]
    assert "No audits" in charts[0]  # May is shown, as an empty bar
    assert "Target 50" in charts[1]


def test_two_charts_on_a_page_never_share_an_id():
    first = str(target_bar(1, 50, None, Words("one", "t", "d")))
    second = str(target_bar(1, 50, None, Words("two", "t", "d")))
    ids = re.findall(r'\bid="([^"]+)"', first) + re.findall(r'\bid="([^"]+)"', second)
    assert len(ids) == len(set(ids))
    assert all(ref.startswith("one-") for ref in re.findall(r"url\(#([^)]+)\)", first))


def test_making_an_svg_accessible_drops_the_xml_prologue_and_the_page_wide_style():
    raw = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
        '<svg xmlns="http://www.w3.org/2000/svg"><defs><style type="text/css">*{x: y}</style>'
        '<clipPath id="p1"/></defs><path clip-path="url(#p1)"/></svg>'
    )
    svg = str(accessible(raw, Words("c", "T", "D")))
    assert svg.startswith('<svg role="img" aria-labelledby="c-title c-desc"')
    assert "DOCTYPE" not in svg
    assert "<style" not in svg
    assert 'id="c-p1"' in svg
    assert "url(#c-p1)" in svg


def csv_rows(answer) -> list[list[str]]:
    """A CSV download's rows (the file starts with a BOM, so that Excel reads it as UTF-8)."""
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


def words() -> Words:
    return Words("chart", "Grades & more", "In <November>")


# Pages


@pytest.fixture
def dashboards():
    """A signed-in Head of Service on 20 November 2026, with the fakes to fill per test."""
    fakes = FakeBackends({"notifications.inbox": {"unread": 0, "items": []}})
    with web(fakes) as client:
        client.app.state.clock = FixedClock(TODAY)
        sign_in(client, "S0003")
        yield client, fakes


def test_the_dashboards_index_links_to_each_dashboard(dashboards):
    client, _ = dashboards
    soup = page(client.get("/dashboards"))
    assert text(soup, "h1") == "Dashboards"
    links = {a["href"] for a in soup.select("main h2 a")}
    assert links == {
        "/dashboards/grades",
        "/dashboards/target",
        "/dashboards/consistency",
        "/dashboards/timeliness",
        "/dashboards/themes",
    }


def test_a_visitor_who_has_not_signed_in_is_sent_to_sign_in():
    with web() as client:
        answer = client.get("/dashboards/grades")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in")


def test_grades_by_month_shows_april_to_november_with_the_empty_months_as_such(dashboards):
    client, fakes = dashboards
    fakes.answers["audit.grade_stats"] = [APRIL, NOVEMBER]
    soup = page(client.get("/dashboards/grades"))
    assert ("audit.grade_stats", ("2026-04", "2026-11", "county"), {}) in fakes.calls
    assert text(soup, "h1") == "Grades by month"
    rows = [
        [cell.get_text(strip=True) for cell in tr.select("th, td")]
        for tr in soup.select("tbody tr")
    ]
    assert len(rows) == 8
    assert rows[0] == ["April 2026", "40", "10% (4)", "50% (20)", "30% (12)", "10% (4)"]
    assert rows[1] == ["May 2026", "0", "No audits"]
    assert rows[7] == ["November 2026", "48", "10.4% (5)", "20.8% (10)", "60.4% (29)", "8.3% (4)"]
    svg = soup.select_one(".app-chart svg")
    assert svg["role"] == "img"
    assert svg["aria-labelledby"] == "grades-title grades-desc"
    assert (
        text(svg, "title") == "Overall grades by month, Whole county, April 2026 to November 2026"
    )
    assert "In November 2026, of 48 audits 10.4% were outstanding" in text(svg, "desc")
    assert "May 2026 had no audits." in text(svg, "desc")
    assert (
        soup.find("a", string=re.compile("Download this table"))["href"] == "/dashboards/grades.csv"
    )


def test_filtering_by_team_asks_by_team_and_shows_that_teams_buckets(dashboards):
    client, fakes = dashboards
    fakes.answers["audit.grade_stats"] = [
        bucket("2026-10", (1, 1, 1, 1), group="EH-NORTH"),
        bucket("2026-10", (0, 0, 0, 9), group="EH-SOUTH"),
    ]
    query = "from_month=2026-09&to_month=2026-10&team=EH-NORTH"
    soup = page(client.get(f"/dashboards/grades?{query}"))
    assert ("audit.grade_stats", ("2026-09", "2026-10", "team"), {}) in fakes.calls
    cells = [td.get_text(strip=True) for td in soup.select("tbody tr")[1].select("td")]
    assert cells == ["4", "25% (1)", "25% (1)", "25% (1)", "25% (1)"]
    assert text(soup, "main h2") == "Early Help North, September 2026 to October 2026"
    assert soup.select_one("#team option[selected]")["value"] == "EH-NORTH"
    assert (
        soup.find("a", string=re.compile("Download"))["href"] == f"/dashboards/grades.csv?{query}"
    )


def test_filtering_by_service_area_or_area_asks_the_api_grouped_that_way(dashboards):
    client, fakes = dashboards
    fakes.answers["audit.grade_stats"] = []
    client.get("/dashboards/grades?service_area=early_help")
    client.get("/dashboards/grades?area=north")
    bys = [args[2] for name, args, _ in fakes.calls if name == "audit.grade_stats"]
    assert bys == ["service_area", "area"]


def test_choosing_an_area_and_a_team_shows_the_error_summary_and_asks_nothing(dashboards):
    client, fakes = dashboards
    answer = client.get("/dashboards/grades?area=north&team=EH-NORTH")
    soup = page(answer)
    assert answer.status_code == 422
    assert soup.title.get_text().startswith("Error: ")
    link = soup.select_one(".govuk-error-summary__list a")
    assert link.get_text(strip=True) == "Choose only one of service area, area or team"
    assert link["href"] == "#team"
    assert soup.select_one(".app-chart") is None
    assert not [call for call in fakes.calls if call[0] == "audit.grade_stats"]


def test_the_grades_csv_is_the_table_with_a_filename(dashboards):
    client, fakes = dashboards
    fakes.answers["audit.grade_stats"] = [NOVEMBER]
    answer = client.get("/dashboards/grades.csv?from_month=2026-10&to_month=2026-11")
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["cache-control"] == "no-store"  # a download is case data too
    assert answer.headers["content-disposition"] == (
        'attachment; filename="grades-2026-10-to-2026-11.csv"'
    )
    rows = csv_rows(answer)
    assert rows[0][:4] == ["Month", "Group", "Audits", "Outstanding (%)"]
    assert rows[1] == ["2026-10", "Whole county", "0", "", "", "", "", "0", "0", "0", "0"]
    assert rows[2] == [
        "2026-11", "Whole county", "48", "10.4", "20.8", "60.4", "8.3", "5", "10", "29", "4",
    ]  # fmt: skip


def test_a_csv_with_a_bad_filter_is_refused(dashboards):
    client, _ = dashboards
    assert client.get("/dashboards/grades.csv?from_month=1999-01").status_code == 422


def test_the_target_shows_this_months_pace_and_a_past_months_total(dashboards):
    client, fakes = dashboards
    fakes.answers["audit.target"] = TARGET
    fakes.answers["audit.grade_stats"] = [bucket("2026-09", (10, 20, 15, 7))]
    soup = page(client.get("/dashboards/target?month=2026-09"))
    assert ("audit.grade_stats", ("2026-09", "2026-09", "county"), {}) in fakes.calls
    now = {
        text(row, "dt"): text(row, "dd")
        for row in soup.select(".app-target-now .govuk-summary-list__row")
    }
    assert now == {
        "Learning audits done": "31 of 50",
        "Still needed": "19",
        "Expected by now": "33 (after 14 of 21 working days)",
        "Pace": "Behind pace",
        "Needed per working day": "2.7 for the 7 working days left",
    }
    past = [text(row, "dd") for row in soup.select(".app-target-past .govuk-summary-list__row")]
    assert past == ["52", "50", "Target met"]
    charts = soup.select(".app-chart svg")
    assert [text(svg, "title") for svg in charts] == [
        "Learning audits in November 2026 against the target of 50",
        "Audits in September 2026 against the target of 50",
    ]
    assert "33 were expected by now, so the month is behind pace" in text(charts[0], "desc")


def test_the_target_offers_last_month_by_default_and_refuses_a_month_not_offered(dashboards):
    client, fakes = dashboards
    fakes.answers["audit.target"] = TARGET
    fakes.answers["audit.grade_stats"] = []
    soup = page(client.get("/dashboards/target"))
    assert soup.select_one("#month option[selected]")["value"] == "2026-10"
    assert ("audit.grade_stats", ("2026-10", "2026-10", "county"), {}) in fakes.calls
    answer = client.get("/dashboards/target?month=2026-11")
    assert answer.status_code == 422
    assert text(page(answer), ".govuk-error-summary__list") == "Choose a month from the list"


def test_consistency_shows_agreement_kappa_and_direction_by_month_and_area(dashboards):
    client, fakes = dashboards
    fakes.answers["moderation.consistency"] = [
        consistency_row("2026-11", "early_help"),
        consistency_row("2026-11", "care_leavers", weighted_kappa=None),
    ]
    soup = page(client.get("/dashboards/consistency?from_month=2026-10&to_month=2026-11"))
    assert ("moderation.consistency", ("2026-10", "2026-11"), {}) in fakes.calls
    rows = [[c.get_text(strip=True) for c in tr.select("th, td")] for tr in soup.select("tbody tr")]
    assert rows == [
        ["October 2026", "No moderations completed"],
        ["November 2026", "Care leavers", "6", "83.3%", "Not enough variety", "16.7%", "0%"],
        ["November 2026", "Early help", "6", "83.3%", "0.7143", "16.7%", "0%"],
    ]
    svg = soup.select_one(".app-chart svg")
    assert (
        text(svg, "title")
        == "Moderation consistency by service area, October 2026 to November 2026"
    )
    assert "Agreement rate (%): In November 2026: Care leavers 83.3%, Early help 83.3%." in text(
        svg, "desc"
    )
    answer = client.get("/dashboards/consistency.csv?from_month=2026-10&to_month=2026-11")
    lines = csv_rows(answer)
    assert lines[1] == ["2026-10", "", "0"]
    assert lines[3] == ["2026-11", "Early help", "6", "83.3", "0.7143", "16.7", "0", "0.1667"]


def test_timeliness_shows_conversations_reaudits_and_improvement_by_month_and_area(dashboards):
    client, fakes = dashboards
    fakes.answers["scheduler.timeliness"] = [timeliness_row("2026-10", "family_safeguarding")]
    soup = page(client.get("/dashboards/timeliness?from_month=2026-10&to_month=2026-11"))
    assert ("scheduler.timeliness", ("2026-10", "2026-11"), {}) in fakes.calls
    rows = [[c.get_text(strip=True) for c in tr.select("th, td")] for tr in soup.select("tbody tr")]
    assert rows == [
        ["October 2026", "Family safeguarding", "4", "3 of 4 (75%)", "2", "1 (33.3%)", "1 (50%)"],
        ["November 2026", "No follow-ups"],
    ]
    assert (
        "Conversations within 5 working days (%): In October 2026: Family safeguarding 75%."
        in text(soup, ".app-chart desc")
    )
    answer = client.get("/dashboards/timeliness.csv?from_month=2026-10&to_month=2026-11")
    assert answer.headers["content-disposition"].endswith('"timeliness-2026-10-to-2026-11.csv"')
    lines = csv_rows(answer)
    assert lines[1] == [
        "2026-10",
        "Family safeguarding",
        "4",
        "4",
        "3",
        "75",
        "2",
        "1",
        "33.3",
        "1",
        "50",
    ]
    assert lines[2] == ["2026-11", "", "0"]


def test_themes_count_the_audits_listed_month_by_month_page_by_page(dashboards):
    client, fakes = dashboards
    full_page = [{"themes": ["planning"]}] * 500

    def audits(month: str, limit: int, offset: int) -> list[dict]:
        if month == "2026-11":
            return full_page if offset == 0 else [{"themes": ["planning", "recording"]}]
        return []

    fakes.answers["audit.audits"] = audits
    soup = page(client.get("/dashboards/themes?from_month=2026-10&to_month=2026-11"))
    asked = [kwargs for name, _, kwargs in fakes.calls if name == "audit.audits"]
    assert asked == [
        {"month": "2026-10", "limit": 500, "offset": 0},
        {"month": "2026-11", "limit": 500, "offset": 0},
        {"month": "2026-11", "limit": 500, "offset": 500},
    ]
    assert "Themes count the audits you may see" in text(soup, ".govuk-inset-text")
    rows = [[c.get_text(strip=True) for c in tr.select("th, td")] for tr in soup.select("tbody tr")]
    assert rows == [
        ["Audits you may see", "0", "501", "501"],
        ["Planning", "0", "501", "501"],
        ["Recording", "0", "1", "1"],
    ]
    assert text(soup, ".app-chart title") == "Themes per month, October 2026 to November 2026"
    answer = client.get("/dashboards/themes.csv?from_month=2026-10&to_month=2026-11")
    assert answer.content.decode("utf-8-sig").splitlines() == [
        "Theme,2026-10,2026-11,Total",
        "Audits seen,0,501,501",
        "Planning,0,501,501",
        "Recording,0,1,1",
    ]


def test_a_dashboard_the_api_refuses_says_so(dashboards):
    client, fakes = dashboards
    fakes.answers["moderation.consistency"] = ApiError(403, "not allowed")
    answer = client.get("/dashboards/consistency")
    assert answer.status_code == 403
    assert text(page(answer), "h1") == "You cannot see this"
