"""What `qa stack status` and `qa run` show: every part and service, where it is, and its health.

Probing (sockets, `/ready`) is kept apart from laying out the table, so the table's shape is a
pure function of what was seen.
"""

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from tooling.localstack.processes import port_open
from tooling.localstack.stack import StackInfo

HEALTHY = ("ready", "reachable", "files")
"""The health words that mean a row is fine; anything else makes `qa stack status` fail."""


@dataclass(frozen=True)
class Row:
    part: str
    address: str
    health: str
    note: str = ""

    @property
    def healthy(self) -> bool:
        return self.health in HEALTHY


def table(rows: list[Row]) -> str:
    """Rows under a header, columns as wide as their widest cell; the note column is last and
    not padded, so a long log path does not push the table wide."""
    header = Row("PART", "ADDRESS", "HEALTH", "NOTE")
    cells = [(r.part, r.address, r.health, r.note) for r in (header, *rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(3)]
    return "\n".join(
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)), row[3]]
        ).rstrip()
        for row in cells
    )


def stack_rows(info: StackInfo) -> list[Row]:
    """The broker, the database and the mail catcher, each probed on its port."""
    rows = [_broker_row(info), _database_row(info)]
    if info.smtp_port is not None:
        up = port_open(info.smtp_port)
        rows.append(
            Row(
                "mail",
                f"smtp://127.0.0.1:{info.smtp_port}",
                "reachable" if up else "unreachable",
                f"messages in {info.mail_dir}",
            )
        )
    return rows


def service_rows(addresses: Mapping[str, str], logs: Path | None = None) -> list[Row]:
    """Each service's (and the web front's) `/ready` answer, in the order given."""
    return [
        Row(name, url, readiness(url), f"log {logs / f'{name}.log'}" if logs else "")
        for name, url in addresses.items()
    ]


def readiness(url: str) -> str:
    """`ready`, `not ready: <what is down>`, or `not answering`, from the service's `/ready`."""
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=3) as response:  # noqa: S310 (our own loopback URL)
            return "ready" if response.status == 200 else f"not ready ({response.status})"
    except urllib.error.HTTPError as refused:
        return _not_ready(refused.code, refused.read())
    except OSError:
        return "not answering"


def _not_ready(status: int, body: bytes) -> str:
    try:
        checks = json.loads(body).get("checks", {})
    except (ValueError, AttributeError):
        checks = {}
    down = sorted(name for name, state in checks.items() if state not in (True, "up"))
    return f"not ready: {', '.join(down)} down" if down else f"not ready ({status})"


def _broker_row(info: StackInfo) -> Row:
    servers = info.bootstrap_servers.split(",")
    up = any(port_open(int(port), host or "127.0.0.1") for host, _, port in _split(servers))
    return Row("broker", info.bootstrap_servers, "reachable" if up else "unreachable", info.broker)


def _split(servers: list[str]) -> list[tuple[str, str, str]]:
    return [server.strip().rpartition(":") for server in servers]


def _database_row(info: StackInfo) -> Row:
    if not info.database_urls:  # SQLite: files, no server to reach
        return Row("database", info.data_dir, "files", info.database)
    url = make_url(next(iter(info.database_urls.values())))
    socket_dir, query_port = (_first(url.query.get(key)) for key in ("host", "port"))
    port = url.port or int(query_port or 5432)
    if socket_dir and str(socket_dir).startswith("/"):  # the embedded server's Unix socket
        where = Path(socket_dir) / f".s.PGSQL.{port}"
        health = "reachable" if _unix_socket_open(where) else "unreachable"
        return Row("database", str(where), health, info.database)
    host = url.host or "127.0.0.1"
    up = port_open(port, host)
    return Row("database", f"{host}:{port}", "reachable" if up else "unreachable", info.database)


def _first(value: str | tuple[str, ...] | None) -> str | None:
    """A URL query value: given once, or the first of several."""
    return value[0] if isinstance(value, tuple) else value


def _unix_socket_open(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(str(path)) == 0
