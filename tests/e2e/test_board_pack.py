"""End-to-end: this month's board pack from the running web front and from `qa board-pack`'s
code, read back: the audit count in the PDF and the workbook is GET /stats/monthly's."""

import io
import re
from pathlib import Path

import httpx
import openpyxl
import pypdfium2
from pypdf import PdfReader

from services.web.board_pack.cli import write_board_pack
from services.web.figures import month_label
from shared.organisation import load_organisation
from tests.conftest import USED
from tests.e2e.conftest import System
from tests.e2e.test_system import audit, case_ref, submit
from tests.tokens import ISSUER

ORG = load_organisation()
QA_LEAD = next(member.id for member in ORG.staff if member.qa_lead)
SCREENSHOT = Path(".qa/screenshots/board-pack-first-page.png")
SHEET = "Overall grades by month, whole"


def signed_in(system: System, staff_id: str) -> httpx.Client:
    """A session on the web front, signed in through its own sign-in form."""
    assert system.web is not None
    client = httpx.Client(base_url=system.web.url, timeout=120)
    form = client.get("/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None, form.text
    answer = client.post("/sign-in", data={"staff_id": staff_id, "csrf_token": csrf[1]})
    assert answer.status_code == 303, answer.text
    return client


def county_total(book: openpyxl.Workbook, month: str) -> object:
    name = next(name for name in book.sheetnames if name.startswith(SHEET))
    rows = list(book[name].iter_rows(values_only=True))
    return next(row[1] for row in rows if row[0] == month_label(month))


def test_this_months_board_pack_counts_the_audits_the_api_counts(
    system: System, tmp_path: Path
) -> None:
    for grade in ("good", "requires_improvement", "outstanding"):
        submit(system, audit(case_ref(), grade, themes=["planning", "recording"]))
    month = system.get("audit", "/stats/target", as_=QA_LEAD).json()["month"]
    stats = system.get(
        "audit", "/stats/monthly", as_=QA_LEAD, from_month=month, to_month=month, by="county"
    )
    assert stats.status_code == 200, stats.text
    audits = next(row["total"] for row in stats.json()["grades"] if row["month"] == month)
    assert audits >= 3

    web = signed_in(system, QA_LEAD)
    try:
        shown = web.get(f"/board-pack/{month}")
        assert shown.status_code == 200, shown.text
        pdf = web.get(f"/board-pack/{month}.pdf")
        xlsx = web.get(f"/board-pack/{month}.xlsx")
    finally:
        web.close()
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    pages = len(reader.pages)
    assert pages > 0
    words = "\n".join(p.extract_text() or "" for p in reader.pages)
    said = re.search(rf"Audits in {month_label(month)}\s+(\d+)", words)
    assert said is not None, words[:2000]
    assert int(said[1]) == audits
    assert xlsx.status_code == 200
    assert county_total(openpyxl.load_workbook(io.BytesIO(xlsx.content)), month) == audits
    image = pypdfium2.PdfDocument(pdf.content)[0].render(scale=1.5).to_pil()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    image.save(SCREENSHOT)

    # `qa board-pack`'s code, against the same services, as the QA lead by default.
    addresses = {name: process.url for name, process in system.services.items()}
    written = write_board_pack(month, None, ORG, addresses, ISSUER, tmp_path)
    assert [path.name for path in written.files] == [
        f"board-pack-{month}.html",
        f"board-pack-{month}.pdf",
        f"board-pack-{month}.xlsx",
    ]
    assert written.audits == audits
    assert written.pages == pages
    saved = openpyxl.load_workbook(written.files[2])
    assert county_total(saved, month) == audits
    USED["board pack"] = (
        f"board pack: {month_label(month)}, {audits} audits, PDF of {pages} pages, "
        f"{len(saved.sheetnames)} sheets (first page: {SCREENSHOT})"
    )
