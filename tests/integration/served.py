"""``milestones serve`` as an operator runs it, for the operations tests (SPEC §19).

:class:`Served` starts the real command in a process group of its own, on a free port,
with its standard output and standard error each in a file of their own, and waits for
``/health``. :meth:`Served.terminate` sends SIGTERM to the server process alone (what a
process manager does) and returns its exit code; :meth:`Served.close` makes sure nothing
of it is left. :func:`socket_owners` says which process of the server holds each of a
client's TCP connections, from ``/proc``: it is how a test knows which worker of
``--workers N`` answered a request.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from tests.conftest import START
from tests.integration.test_concurrency import CLIENT, EXECUTABLE, ROOT, free_port

STARTUP_SECONDS = 60.0


class Served:
    def __init__(
        self,
        database_url: str,
        folder: Path,
        *,
        name: str = "server",
        workers: int = 1,
        shutdown_seconds: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.stdout = folder / f"{name}.stdout"
        self.stderr = folder / f"{name}.stderr"
        self.workers = workers
        self.shutdown_seconds = shutdown_seconds
        self.env = dict(env or {})
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.health_answers = 0  # the /health calls start() had answered (they are counted)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "the server is not running"
        return self.process.pid

    def start(self) -> None:
        self.port = free_port()
        env = {**os.environ, "MILESTONES_NOW": START.isoformat(), **self.env}
        for inherited in ("MILESTONES_DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR"):
            if inherited not in self.env:
                env.pop(inherited, None)
        command = [str(EXECUTABLE), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--database", self.database_url, "--workers", str(self.workers)]
        if self.shutdown_seconds is not None:
            command += ["--shutdown-seconds", str(self.shutdown_seconds)]
        with self.stdout.open("ab") as out, self.stderr.open("ab") as err:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        with httpx.Client(timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"the server exited with {self.process.returncode}:\n{self.tail()}")
                with suppress(httpx.HTTPError):
                    if client.get(f"{self.base}/health").status_code == 200:
                        self.health_answers += 1
                        return
                time.sleep(0.1)
        self.close()
        pytest.fail(f"the server did not answer /health in {STARTUP_SECONDS} s:\n{self.tail()}")

    def terminate(self, timeout: float) -> int:
        """SIGTERM to the server process; its exit code once it has ended (within ``timeout``)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            pytest.fail(f"the server was still running {timeout} s after SIGTERM:\n{self.tail()}")
        self._reap()
        self.process = None
        return code

    def close(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        self._reap()
        self.process.wait(timeout=15)
        self.process = None

    def _reap(self) -> None:
        """Whatever of the group outlived the server process (there should be nothing)."""
        assert self.process is not None
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def tail(self, lines: int = 40) -> str:
        text = ""
        for path in (self.stdout, self.stderr):
            with suppress(FileNotFoundError):
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text or "(no output)"


@contextmanager
def serving(
    database_url: str,
    folder: Path,
    *,
    name: str = "server",
    workers: int = 1,
    shutdown_seconds: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Served]:
    server = Served(
        database_url,
        folder,
        name=name,
        workers=workers,
        shutdown_seconds=shutdown_seconds,
        env=env,
    )
    try:
        server.start()
        yield server
    finally:
        server.close()


def api(server: Served, timeout: float = 60.0) -> httpx.Client:
    """A client of the server with the test org's Basic credentials."""
    return httpx.Client(base_url=server.base, auth=CLIENT, timeout=timeout)


def group_processes(leader: int) -> list[int]:
    """The live processes of ``leader``'s process group (the server and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            # Fields after the command's closing parenthesis: state, ppid, pgrp, ...
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == leader:
                found.append(int(entry.name))
    return found


def socket_owners(pids: list[int], server_port: int) -> dict[int, int]:
    """Client port → the pid holding the server's end of that connection to ``server_port``."""
    inode_of_peer: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if int(local.rsplit(":", 1)[1], 16) == server_port:
                    inode_of_peer[inode] = int(remote.rsplit(":", 1)[1], 16)
    owners: dict[int, int] = {}
    for pid in pids:
        with suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        peer = inode_of_peer.get(target[8:-1])
                        if peer is not None:
                            owners[peer] = pid
    return owners
