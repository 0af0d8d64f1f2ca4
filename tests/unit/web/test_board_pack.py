"""The monthly board pack from hand-made API answers: its figures, page, PDF and workbook."""

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pypdfium2
import pytest
from pypdf import PdfReader

from services.web.board_pack import contents, page
from services.web.board_pack.contents import BoardPack, gather, tables
from services.web.board_pack.pdf import BASE_URL, Refused, StaticOnly, pdf_bytes
from services.web.board_pack.workbook import workbook_bytes
from services.web.clients.api import ApiError
from services.web.pages import environment
from shared.clock import FixedClock
from shared.organisation import DEMO_ORGANISATION_FILE, load_organisation
from tests.unit.web.pages import FakeBackends, sign_in, text, web
from tests.unit.web.pages import page as soup_of

pytestmark = pytest.mark.unit

MONTH = "2026-11"
MONTHS = ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
ORGANISATION = load_organisation(DEMO_ORGANISATION_FILE)
AREAS = sorted(str(leads.service_area) for leads in ORGANISATION.service_areas)
SCREENSHOT = Path(".qa/screenshots/board-pack-first-page.png")
GRADES = ("outstanding", "good", "requires_improvement", "inadequate")


def _bucket(month: str, group: str, counts: tuple[int, int, int, int]) -> dict[str, Any]:
    total = sum(counts)
    return {
        "month": month,
        "group": group,
        "total": total,
        "counts": dict(zip(GRADES, counts, strict=True)),
        "percentages": {
            g: round(100 * c / total, 1) if total else 0.0
            for g, c in zip(GRADES, counts, strict=True)
        },
        "suppressed": False,
    }


COUNTY_GRADES = {  # hand-made: November has 17 audits: 2 outstanding, 9 good, 4 RI, 2 inadequate
    "2026-06": (1, 4, 2, 1),
    "2026-07": (0, 0, 0, 0),
    "2026-08": (2, 6, 3, 1),
    "2026-09": (1, 5, 5, 2),
    "2026-10": (3, 7, 2, 0),
    "2026-11": (2, 9, 4, 2),
}


def monthly_stats(from_month: str, to_month: str, by: str) -> dict[str, Any]:
    assert (from_month, to_month) == ("2026-06", MONTH)
    if by == "county":
        grades = [_bucket(m, "county", c) for m, c in COUNTY_GRADES.items()]
        domains = [
            {**_bucket(MONTH, "county", (1, 10, 5, 1)), "domain": "visits"},
            {**_bucket(MONTH, "county", (0, 8, 6, 3)), "domain": "voice_of_child"},
        ]
        themes = [
            {"month": m, "group": "county", "theme": "voice_of_child", "count": c,
             "previous": p, "suppressed": False}
            for m, c, p in zip(MONTHS, (2, 0, 3, 4, 5, 8), (1, 2, 0, 3, 4, 5), strict=True)
        ] + [
            {"month": m, "group": "county", "theme": "recording", "count": c,
             "previous": p, "suppressed": False}
            for m, c, p in zip(MONTHS, (1, 0, 1, 2, 6, 3), (0, 1, 0, 1, 2, 6), strict=True)
        ]  # fmt: skip
        return {"from_month": from_month, "to_month": to_month, "by": by, "threshold": 3,
                "grades": grades, "domains": domains, "themes": themes}  # fmt: skip
    grades = [_bucket(m, a, (0, 0, 0, 0)) for m in MONTHS for a in AREAS]
    grades = [g for g in grades if not (g["month"] == MONTH and g["group"] == "early_help")]
    grades.append(_bucket(MONTH, "early_help", (2, 5, 1, 0)))
    themes = [
        {"month": MONTH, "group": "early_help", "theme": "voice_of_child", "count": 5,
         "previous": 2, "suppressed": False},
        {"month": MONTH, "group": "care_leavers", "theme": "voice_of_child", "count": 3,
         "previous": 3, "suppressed": False},
    ]  # fmt: skip
    return {"from_month": from_month, "to_month": to_month, "by": by, "threshold": 3,
            "grades": grades, "domains": [], "themes": themes}  # fmt: skip


TARGET = {
    "month": MONTH, "target": 20, "done": 17, "remaining": 3, "working_days_in_month": 21,
    "working_days_left": 0, "expected_by_now": 20, "on_pace": False, "needed_per_working_day": 3.0,
}  # fmt: skip
PROGRAMME = {
    "month": MONTH, "target": 20, "allocated": 19, "in_progress": 1, "submitted": 15,
    "exempted": 2, "declined": 1, "late": 3, "remaining_working_days": 0,
    "by_team": [
        {"team_id": "EH-SOUTH", "team_name": "Early Help South", "allocated": 4,
         "submitted": 3, "exempted": 1, "late": 1},
        {"team_id": "EH-NORTH", "team_name": "Early Help North", "allocated": 5,
         "submitted": 4, "exempted": 0, "late": 2},
    ],
    "by_auditor": [],
}  # fmt: skip
CONSISTENCY = [
    {"month": MONTH, "service_area": "family_safeguarding", "moderated": 4,
     "agreement_rate": 0.75, "mean_absolute_difference": 0.25, "moderator_worse_share": 0.25,
     "moderator_better_share": 0.0, "weighted_kappa": 0.6667},
    {"month": MONTH, "service_area": "early_help", "moderated": 0, "agreement_rate": 0.0,
     "mean_absolute_difference": 0.0, "moderator_worse_share": 0.0,
     "moderator_better_share": 0.0, "weighted_kappa": None},
]  # fmt: skip
TIMELINESS = [
    {"month": MONTH, "service_area": "early_help", "followups": 2, "conversations_decided": 2,
     "conversations_on_time": 1, "conversations_on_time_pct": 50.0, "reaudits_done": 1,
     "reaudits_on_time": 1, "reaudits_on_time_pct": 100.0, "improved": 1, "improved_pct": 100.0},
]  # fmt: skip
ACTIONS = [
    {"month": MONTH, "service_area": "early_help", "agreed": 6, "done_on_time": 3,
     "done_late": 1, "verified": 2, "not_achieved": 1, "open": 2, "overdue": 1,
     "completion_rate": 0.6667, "verification_rate": 0.6667},
]  # fmt: skip
LEARNING = [
    {"audit_id": "A-2", "case_id": "CASE-0042", "service_area": "early_help",
     "team_id": "EH-SOUTH", "overall_grade": "requires_improvement",
     "themes": ["voice_of_child", "recording"],
     "could_be_better_if": ["the child's wishes were written in their words",
                            "the chronology were kept up to date"]},
    {"audit_id": "A-1", "case_id": "CASE-0007", "service_area": "care_leavers",
     "team_id": "CL-NORTH", "overall_grade": "good", "themes": [], "could_be_better_if": []},
]  # fmt: skip
OUTSTANDING = [
    {"id": "M-9", "audit_id": "A-5", "case_id": "CASE-0100", "service_area": "family_safeguarding",
     "team_id": "FS-WEST", "auditor_grade": "good", "moderated_grade": "outstanding",
     "moderated_at": "2026-11-20T10:00:00+00:00", "rationale": "Exemplary direct work",
     "outstanding_practice": True},
]  # fmt: skip


def fakes(**changes: Any) -> FakeBackends:
    answers: dict[str, Any] = {
        "audit.monthly_stats": monthly_stats,
        "audit.target": lambda month=None: TARGET | {"month": month},
        "audit.programme_stats": lambda month: PROGRAMME,
        "audit.learning": lambda month: LEARNING,
        "moderation.consistency": lambda first, last: CONSISTENCY,
        "moderation.outstanding": lambda month: OUTSTANDING,
        "scheduler.timeliness": lambda first, last: TIMELINESS,
        "scheduler.action_stats": lambda first, last: ACTIONS,
        "notifications.inbox": {"unread": 0, "items": []},
    }
    return FakeBackends(answers | changes)


def pack_of(backends: FakeBackends | None = None) -> BoardPack:
    return gather((backends or fakes()).backends(), MONTH, ORGANISATION)


def _pairs(rows: tuple[tuple[Any, ...], ...]) -> dict[Any, Any]:
    return {row[0]: row[1] for row in rows}


def sheet(book: Any, prefix: str) -> list[list[Any]]:
    names = [name for name in book.sheetnames if name.startswith(prefix)]
    assert len(names) == 1, (prefix, book.sheetnames)
    return [list(row) for row in book[names[0]].iter_rows(values_only=True)]


# --- the figures ------------------------------------------------------------------------------


def test_the_pack_asks_each_api_for_the_month_and_the_five_before() -> None:
    backends = fakes()
    pack = pack_of(backends)
    asked = {(name, args) for name, args, _ in backends.calls}
    assert ("audit.monthly_stats", ("2026-06", MONTH, "county")) in asked
    assert ("audit.monthly_stats", ("2026-06", MONTH, "service_area")) in asked
    assert ("audit.target", (MONTH,)) in asked
    assert ("moderation.consistency", (MONTH, MONTH)) in asked
    assert ("scheduler.action_stats", (MONTH, MONTH)) in asked
    assert pack.months == MONTHS
    assert pack.audits == 17


def test_grades_keep_every_month_and_service_area_even_without_audits() -> None:
    pack = pack_of()
    assert [row.total for row in pack.county] == [8, 0, 12, 13, 12, 17]
    assert pack.county[-1].counts == {
        "outstanding": 2, "good": 9, "requires_improvement": 4, "inadequate": 2,
    }  # fmt: skip
    assert len(pack.by_service_area) == len(AREAS) * 6
    early = [r for r in pack.by_service_area if r.group == "early_help" and r.month == MONTH]
    assert early[0].total == 8
    assert early[0].counts["outstanding"] == 2


def test_domains_are_all_six_in_order_and_an_unanswered_one_is_zero() -> None:
    pack = pack_of()
    assert [d.domain for d in pack.domains] == list(contents.DOMAINS)
    visits = next(d for d in pack.domains if d.domain == "visits")
    assert visits.total == 17
    assert visits.counts["good"] == 10
    assert next(d for d in pack.domains if d.domain == "planning").total == 0


def test_themes_have_their_trend_and_change_most_frequent_first() -> None:
    pack = pack_of()
    assert [t.theme for t in pack.themes] == ["voice_of_child", "recording"]
    voice = pack.themes[0]
    assert voice.counts == [2, 0, 3, 4, 5, 8]
    assert (voice.count, voice.previous) == (8, 5)
    table = next(t for t in tables(pack) if t.title.startswith("Themes by month"))
    assert table.rows[0] == ("Voice of the child", 2, 0, 3, 4, 5, 8, 3)
    assert table.rows[1][-1] == -3
    by_area = pack.themes_by_area[0]
    assert by_area.counts["early_help"] == 5
    assert by_area.counts["care_leavers"] == 3
    assert by_area.counts["family_safeguarding"] == 0


def test_learning_points_are_one_row_each_sorted_and_named_by_team() -> None:
    pack = pack_of()
    assert [row.case_id for row in pack.learning] == ["CASE-0007", "CASE-0042"]
    table = next(t for t in tables(pack) if t.title.startswith("Learning points"))
    assert len(table.rows) == 3  # an audit without points still shows, once
    assert table.rows[1][:3] == ("CASE-0042", "Early help", "Early Help South")
    assert table.rows[1][4] == "Recording, Voice of the child"
    assert table.rows[1][5] == "the child's wishes were written in their words"


def test_target_programme_consistency_timeliness_actions_and_outstanding() -> None:
    pack = pack_of()
    found = {t.title.split(",")[0]: t for t in tables(pack)}
    assert _pairs(found["Audits against the target"].rows)["Done"] == 17
    assert _pairs(found["Audits against the target"].rows)["On pace"] == "No"
    assert _pairs(found["The audit programme"].rows)["Allocated"] == 19
    assert [r[0] for r in found["The audit programme by team"].rows] == [
        "Early Help North", "Early Help South",
    ]  # fmt: skip
    consistency = found["Moderation consistency"].rows
    assert consistency[0] == ("Early help", 0, None, None, None, None, None)
    assert consistency[1] == ("Family safeguarding", 4, 75.0, 0.6667, 25.0, 0.0, 0.25)
    assert found["Follow-up timeliness"].rows[0][:5] == ("Early help", 2, 2, 1, 50.0)
    assert found["Action timeliness"].rows[0][-2:] == (66.7, 66.7)
    outstanding = found["Outstanding practice"].rows[0]
    assert outstanding[:6] == (
        "CASE-0100", "Family safeguarding", "Family Safeguarding West", "Good", "Outstanding",
        "2026-11-20",
    )  # fmt: skip


def test_a_month_without_a_programme_says_so() -> None:
    for answer in ({**PROGRAMME, "allocated": 0, "by_team": []}, ApiError(404, "no programme")):
        pack = pack_of(fakes(**{"audit.programme_stats": answer}))
        assert pack.programme is None
        section = next(s for s in contents.sections(pack) if s.id == "programme")
        assert section.empty == "No audit programme was drawn for November 2026."
        assert not any(t.title.startswith("The audit programme") for t in tables(pack))


def test_another_refusal_of_the_programme_is_not_hidden() -> None:
    with pytest.raises(ApiError):
        pack_of(fakes(**{"audit.programme_stats": ApiError(503, "down")}))


def test_the_same_answers_give_the_same_pack_whatever_their_order() -> None:
    shuffled = fakes(
        **{
            "audit.learning": lambda month: LEARNING[::-1],
            "moderation.consistency": lambda first, last: CONSISTENCY[::-1],
        }
    )
    assert pack_of(shuffled) == pack_of()
    assert tables(pack_of(shuffled)) == tables(pack_of())


# --- the page, the PDF and the workbook --------------------------------------------------------


def _pdf(pack: BoardPack) -> bytes:
    return pdf_bytes(page.printable(environment(), pack, NOW))


def _pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_reads_back_with_the_figures_and_its_first_page_is_saved_as_png() -> None:
    pack = pack_of()
    data = _pdf(pack)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) > 0
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4
    words = _pdf_text(data)
    for shown in ("Board pack: November 2026", "Audits in November 2026", "CASE-0042",
                  "Exemplary direct work", "Early Help South", "Voice of the child",
                  "the chronology were kept up to date", "Page 1 of"):  # fmt: skip
        assert shown in words, shown
    assert "17" in words
    assert "66.7" in words
    document = pypdfium2.PdfDocument(data)
    image = document[0].render(scale=1.5).to_pil()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    image.save(SCREENSHOT)
    assert image.width > 800
    assert SCREENSHOT.stat().st_size > 10_000


def test_two_renders_of_the_same_data_give_the_same_pdf_text_and_workbook_bytes() -> None:
    assert _pdf_text(_pdf(pack_of())) == _pdf_text(_pdf(pack_of()))
    assert workbook_bytes(pack_of()) == workbook_bytes(pack_of())


def test_the_workbook_has_one_sheet_per_table_with_the_apis_figures() -> None:
    pack = pack_of()
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(pack)))
    assert len(book.sheetnames) == len(tables(pack)) == 13
    county = sheet(book, "Overall grades by month, whole")
    assert county[0][:3] == ["Month", "Audits", "Outstanding (number)"]
    assert county[-1][:6] == ["November 2026", 17, 2, 9, 4, 2]
    assert county[2][1:6] == ["", 0, 0, 0, 0] or county[2][1] == 0
    assert county[-1][6] == 11.8  # 2 of 17, as the API gave it
    consistency = sheet(book, "Moderation consistency")
    assert consistency[2] == ["Family safeguarding", 4, 75, 0.6667, 25, 0, 0.25]
    assert consistency[1][2] is None  # no moderations: no rate


def test_the_print_fetcher_serves_only_static_files() -> None:
    fetcher = StaticOnly()
    assert b"govuk" in fetcher.read(BASE_URL + "static/app.css")
    for refused in (
        "https://example.org/x.css",
        "file:///etc/passwd",
        BASE_URL + "static/../settings.py",
        BASE_URL + "static/%2e%2e/settings.py",
        BASE_URL + "board-pack/2026-11",
        "http://127.0.0.1:8005/static/app.css",
    ):
        with pytest.raises(Refused):
            fetcher.read(refused)


def test_a_page_with_a_remote_image_prints_without_fetching_it() -> None:
    html = '<html><body><p>Hello</p><img src="https://example.org/tracker.png"></body></html>'
    assert "Hello" in _pdf_text(pdf_bytes(html))


# --- the routes ----------------------------------------------------------------------------------


def test_the_qa_lead_chooses_a_month_last_month_by_default() -> None:
    with web(fakes()) as client:
        client.app.state.clock = FixedClock(NOW)  # type: ignore[attr-defined]
        sign_in(client, "S0004")
        shown = soup_of(client.get("/board-pack"))
        selected = shown.select_one("#month option[selected]")
        assert selected is not None
        assert selected["value"] == MONTH
        answer = client.get("/board-pack?month=2026-10")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/board-pack/2026-10"
        wrong = client.get("/board-pack?month=1999-01")
        assert wrong.status_code == 422
        assert "Choose a month from the list" in text(soup_of(wrong), ".govuk-error-summary")


def test_the_page_shows_the_pack_with_its_chart_tables_and_downloads() -> None:
    with web(fakes()) as client:
        client.app.state.clock = FixedClock(NOW)  # type: ignore[attr-defined]
        sign_in(client, "S0004")
        answer = client.get(f"/board-pack/{MONTH}")
        assert answer.status_code == 200
        shown = soup_of(answer)
        assert text(shown, "h1") == "Board pack: November 2026"
        assert shown.select_one("svg[role=img] title") is not None
        captions = [c.get_text(strip=True) for c in shown.select("caption")]
        assert len(captions) == 13
        assert shown.select_one(f'a[href="/board-pack/{MONTH}.pdf"]') is not None
        assert shown.select_one(f'a[href="/board-pack/{MONTH}.xlsx"]') is not None
        nav = [a.get_text(strip=True) for a in shown.select(".govuk-service-navigation a")]
        assert "Board pack" in nav


def test_the_downloads_are_a_pdf_and_a_workbook_of_the_month() -> None:
    with web(fakes()) as client:
        client.app.state.clock = FixedClock(NOW)  # type: ignore[attr-defined]
        sign_in(client, "S0003")  # a head of service: the APIs scope what they see
        pdf = client.get(f"/board-pack/{MONTH}.pdf")
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert 'filename="board-pack-2026-11.pdf"' in pdf.headers["content-disposition"]
        assert "Board pack: November 2026" in _pdf_text(pdf.content)
        xlsx = client.get(f"/board-pack/{MONTH}.xlsx")
        assert xlsx.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
        assert sheet(book, "Overall grades by month, whole")[-1][1] == 17


def test_others_get_the_403_page_and_the_apis_are_not_asked() -> None:
    backends = fakes()
    with web(backends) as client:
        sign_in(client, "S0006")  # a practitioner
        for path in ("/board-pack", f"/board-pack/{MONTH}", f"/board-pack/{MONTH}.pdf"):
            answer = client.get(path)
            assert answer.status_code == 403, path
            assert "QA lead" in answer.text
        assert not [call for call in backends.calls if not call[0].startswith("notifications")]
        nav = [a.get_text(strip=True) for a in soup_of(client.get("/")).select("nav a")]
        assert "Board pack" not in nav


def test_a_month_not_yet_begun_or_not_a_month_has_no_pack() -> None:
    with web(fakes()) as client:
        client.app.state.clock = FixedClock(NOW)  # type: ignore[attr-defined]
        sign_in(client, "S0004")
        assert client.get("/board-pack/2027-01").status_code == 404
        assert client.get("/board-pack/2026-13.xlsx").status_code == 400
