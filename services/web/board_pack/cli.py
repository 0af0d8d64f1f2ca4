"""`qa board-pack`: the month's pack written to files, as one person, from running services.

The same `contents.gather` as the web front, over the same API clients, with a token the local
issuer mints for the person (by default the organisation's QA lead).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from services.web.board_pack import contents, page
from services.web.board_pack.pdf import printed
from services.web.board_pack.workbook import workbook_bytes
from services.web.clients.api import Api
from services.web.clients.audit import AuditClient
from services.web.clients.backends import Backends
from services.web.clients.moderation import ModerationClient
from services.web.clients.notifications import NotificationsClient
from services.web.clients.scheduler import SchedulerClient
from services.web.pages import environment
from shared.auth import LocalIssuer
from shared.organisation import Organisation

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
TOKEN_SECONDS = 600
API_TIMEOUT_SECONDS = 60.0
SERVICES = ("audit", "moderation", "scheduler", "notifications")


@dataclass(frozen=True)
class Written:
    files: list[Path]
    audits: int | None
    pages: int


def qa_lead(organisation: Organisation) -> str:
    leads = sorted(member.id for member in organisation.staff if member.qa_lead)
    if not leads:
        raise ValueError("the organisation file names no QA lead: say whose pack with --as")
    return leads[0]


def write_board_pack(
    month: str,
    staff_id: str | None,
    organisation: Organisation,
    addresses: Mapping[str, str],
    issuer: LocalIssuer,
    out: Path,
) -> Written:
    """Gather the pack through the APIs at `addresses` and write its three files to `out`."""
    if not MONTH.match(month):
        raise ValueError(f"{month!r} is not a month: write it as YYYY-MM")
    person = staff_id or qa_lead(organisation)
    if person not in organisation.staff_by_id:
        raise ValueError(f"{person!r} is not in the organisation file")
    missing = [name for name in SERVICES if name not in addresses]
    if missing:
        raise ValueError(f"the running stack has no {', '.join(missing)} service")
    token = issuer.ensure().mint(person, ttl_seconds=TOKEN_SECONDS)
    apis = [Api(addresses[name], token, timeout=API_TIMEOUT_SECONDS) for name in SERVICES]
    try:
        services = Backends(
            AuditClient(apis[0]),
            ModerationClient(apis[1]),
            SchedulerClient(apis[2]),
            NotificationsClient(apis[3]),
        )
        pack = contents.gather(services, month, organisation)
    finally:
        for api in apis:
            api.close()
    html = page.printable(environment(), pack, datetime.now(UTC))
    pdf, pages = printed(html)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"board-pack-{month}"
    files = [stem.with_suffix(".html"), stem.with_suffix(".pdf"), stem.with_suffix(".xlsx")]
    files[0].write_text(html, encoding="utf-8")
    files[1].write_bytes(pdf)
    files[2].write_bytes(workbook_bytes(pack))
    return Written(files, pack.audits, pages)
