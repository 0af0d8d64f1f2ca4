"""The monthly board pack: choose a month, read its page, download it as PDF or a workbook.

For the QA lead, heads of service, assistant directors and admins; the APIs scope every figure
to what the person may see (the QA lead and admins: the whole county).
"""

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from services.web.board_pack import contents, page
from services.web.board_pack.pdf import pdf_bytes
from services.web.board_pack.workbook import workbook_bytes
from services.web.clients.backends import Services
from services.web.exports import XLSX_TYPE
from services.web.figures import month_add, month_label, month_of, months_offered
from services.web.pages import render
from services.web.people import roles_of
from services.web.session import Person, SignedIn
from shared.auth import AccessRole
from shared.calendar import uk_day
from shared.clock import Clock, SystemClock

router = APIRouter(prefix="/board-pack")

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
Month = Annotated[str, Path(pattern=MONTH.pattern)]
READERS = frozenset(
    {
        AccessRole.QA_LEAD,
        AccessRole.HEAD_OF_SERVICE,
        AccessRole.ASSISTANT_DIRECTOR,
        AccessRole.ADMIN,
    }
)
REFUSED = "The board pack is for the QA lead, heads of service, assistant directors and admins."


@router.get("")
def choose(request: Request, person: Person, month: str | None = None) -> Response:
    """Choose a month (last month by default); the form sends `?month=`."""
    _may_read(request, person)
    this_month = _this_month(request)
    offered = months_offered(this_month)
    if month is not None:
        if month in offered:
            return RedirectResponse(f"/board-pack/{month}", status_code=303)
        errors = {"month": "Choose a month from the list"}
        return _choice(request, offered, month_add(this_month, -1), errors, 422)
    return _choice(request, offered, month_add(this_month, -1), {}, 200)


@router.get("/{month}.pdf")
async def as_pdf(request: Request, person: Person, services: Services, month: Month) -> Response:
    pack = _pack(request, person, services, month)
    html = page.printable(request.app.state.pages, pack, _now(request))
    data = await run_in_threadpool(pdf_bytes, html)
    return Response(data, media_type="application/pdf", headers=_attachment(month, "pdf"))


@router.get("/{month}.xlsx")
def as_workbook(request: Request, person: Person, services: Services, month: Month) -> Response:
    pack = _pack(request, person, services, month)
    return Response(workbook_bytes(pack), media_type=XLSX_TYPE, headers=_attachment(month, "xlsx"))


@router.get("/{month}")
def show(request: Request, person: Person, services: Services, month: Month) -> Response:
    pack = _pack(request, person, services, month)
    links = {"pdf": f"/board-pack/{month}.pdf", "xlsx": f"/board-pack/{month}.xlsx"}
    shown = page.context(pack, _now(request), links)
    return render(request, page.TEMPLATE, layout=page.SITE_LAYOUT, **shown)


def _pack(request: Request, person: SignedIn, services: Services, month: str) -> contents.BoardPack:
    _may_read(request, person)
    if month > _this_month(request):
        raise HTTPException(404, "There is no board pack for a month that has not begun.")
    return contents.gather(services, month, request.app.state.organisation)


def _may_read(request: Request, person: SignedIn) -> None:
    if roles_of(request, person).isdisjoint(READERS):
        raise HTTPException(403, REFUSED)


def _choice(
    request: Request, offered: list[str], default: str, errors: dict[str, str], status: int
) -> Response:
    items = [{"value": m, "text": month_label(m), "selected": m == default} for m in offered]
    listed = [{"text": message, "href": f"#{name}"} for name, message in errors.items()]
    return render(
        request,
        "board_pack/choose.html",
        status,
        title="Board pack",
        month_items=items,
        errors=errors,
        error_list=listed,
    )


def _attachment(month: str, kind: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="board-pack-{month}.{kind}"'}


def _clock(request: Request) -> Clock:
    return getattr(request.app.state, "clock", None) or SystemClock()


def _now(request: Request) -> datetime:
    return _clock(request).now()


def _this_month(request: Request) -> str:
    return month_of(uk_day(_clock(request).now()))
