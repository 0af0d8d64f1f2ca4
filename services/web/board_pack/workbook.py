"""The board pack as an Excel workbook: one sheet per table of the pack, deterministic."""

from services.web.board_pack.contents import BoardPack, tables
from services.web.board_pack.page import title
from services.web.exports import xlsx_bytes


def workbook_bytes(pack: BoardPack) -> bytes:
    return xlsx_bytes(tables(pack), title(pack))
