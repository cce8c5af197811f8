"""A real HTTP endpoint on 127.0.0.1 for webhook tests: it records what it receives.

Each path behaves as its plan says: a list of answers taken in turn (the last one
repeats), each an HTTP status or :data:`HANG` (read the request, never answer). Every
request is recorded with its headers, body and arrival time, and the receiver notes
when two requests with the same ``webhook-id`` were in flight at once.

    with Receiver() as receiver:
        receiver.plan("/flaky", [500, 500, 200])
        url = receiver.url("/flaky")
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = -1  # an answer that never comes: the connection is held until the receiver stops


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float  # time.monotonic() on arrival
    answered: int  # the status answered, or HANG


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        # webhook-ids received at a path while one with that id was still in flight there
        # (one path per subscription: two subscriptions get the same notification's id)
        self.overlaps: list[str] = []
        self._plans: dict[str, list[int]] = {}
        self._counts: dict[str, int] = {}
        self._in_flight: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def plan(self, path: str, answers: Sequence[int]) -> None:
        with self._lock:
            self._plans[path] = list(answers) or [200]

    def url(self, path: str = "/hook") -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [item for item in self.received if item.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 30.0) -> list[Received]:
        """The requests to ``path`` once there are at least ``count``; fails on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.at(path)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{path} received {len(self.at(path))} requests, not {count}")

    def _answer(self, path: str) -> int:
        with self._lock:
            plan = self._plans.get(path, [200])
            index = self._counts.get(path, 0)
            self._counts[path] = index + 1
            return plan[min(index, len(plan) - 1)]

    def _arrived(self, item: Received) -> None:
        with self._lock:
            self.received.append(item)
            key = (item.path, item.headers.get("webhook-id", ""))
            if self._in_flight.get(key, 0):
                self.overlaps.append(key[1])
            self._in_flight[key] = self._in_flight.get(key, 0) + 1

    def _left(self, item: Received) -> None:
        with self._lock:
            self._in_flight[(item.path, item.headers.get("webhook-id", ""))] -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver listens with a backlog of 5: more connections opened at once (a worker
    # sends up to 8 per subscription) have their SYN dropped and retried a second later.
    request_queue_size = 128


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            answer = receiver._answer(self.path)
            item = Received(
                self.path,
                {name.lower(): value for name, value in self.headers.items()},
                body,
                time.monotonic(),
                answer,
            )
            receiver._arrived(item)
            try:
                if answer == HANG:
                    receiver._stopping.wait()
                    self.close_connection = True  # else it waits for the client's next request
                    return
                self.send_response(answer)
                self.send_header("content-length", "0")
                self.end_headers()
            finally:
                receiver._left(item)

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


def requests_by_id(received: Iterator[Received] | list[Received]) -> dict[str, list[Received]]:
    """The requests grouped by their ``webhook-id``."""
    grouped: dict[str, list[Received]] = {}
    for item in received:
        grouped.setdefault(item.headers["webhook-id"], []).append(item)
    return grouped
