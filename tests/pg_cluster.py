"""Throwaway PostgreSQL servers a test owns: a primary it may stop and start, and a
streaming replica made from it with ``pg_basebackup`` (SPEC §19's replica and readiness
tests). Debian's server binaries, as ``scripts/pg.sh`` uses (it installs them when
missing). Each server lives in a temporary folder, listens on 127.0.0.1 on a free port,
and is stopped (``-m immediate``) and removed by :meth:`PgServer.remove`.

    with primary_server() as primary:
        replica = primary.replica()
        ... primary.url, replica.url ...
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


def _bin(name: str) -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found: run the tests with make test")
    return str(Path(found[-1]) / name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres() -> list[str]:
    """initdb and the server refuse to run as root: they run as the postgres user."""
    if os.geteuid() != 0:
        return []
    if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return ["runuser", "-u", "postgres", "--"]


class PgServer:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.data = folder / "data"
        self.log = folder / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/milestones"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        subprocess.run(
            [
                *_as_postgres(),
                _bin("pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "start",
                "-o",
                options,
            ],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        """Stop at once; a checkpoint first, so that what was committed is on disk (the
        server runs with fsync and synchronous commit off)."""
        with contextlib.suppress(psycopg.Error):
            self.sql("CHECKPOINT")
        subprocess.run(
            [
                *_as_postgres(),
                _bin("pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def sql(self, statement: str) -> list[tuple[object, ...]]:
        """Run one statement as the superuser (autocommit); its rows, if any."""
        with psycopg.connect(self.url, autocommit=True) as connection:
            cursor = connection.execute(statement)
            return list(cursor.fetchall()) if cursor.description else []

    def replica(self) -> PgServer:
        """A streaming replica of this server, started, on a port of its own."""
        folder = Path(tempfile.mkdtemp(prefix="milestones-pg-replica-"))
        os.chmod(folder, 0o777)
        replica = PgServer(folder, _free_port())
        runner = _as_postgres()
        if runner:
            subprocess.run(["chown", "postgres", str(folder)], check=True)
        subprocess.run(
            [
                *runner,
                _bin("pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-D",
                str(replica.data),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ],
            check=True,
            capture_output=True,
        )
        replica.start()
        return replica


def new_primary() -> PgServer:
    """A new, started server with an empty ``milestones`` database."""
    folder = Path(tempfile.mkdtemp(prefix="milestones-pg-primary-"))
    os.chmod(folder, 0o777)
    runner = _as_postgres()
    if runner:
        subprocess.run(["chown", "postgres", str(folder)], check=True)
    server = PgServer(folder, _free_port())
    subprocess.run(
        [
            *runner,
            _bin("initdb"),
            "-D",
            str(server.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    server.start()
    with psycopg.connect(
        f"postgresql://postgres@127.0.0.1:{server.port}/postgres", autocommit=True
    ) as connection:
        connection.execute("CREATE DATABASE milestones")
    return server


@contextmanager
def primary_server() -> Iterator[PgServer]:
    server = new_primary()
    try:
        yield server
    finally:
        server.remove()
