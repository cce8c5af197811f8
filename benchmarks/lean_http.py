"""A minimal HTTP/1.1 keep-alive client for load generation on the server's own machine.

The benchmark's client shares the 2 cores with the server it measures. ``httpx`` spends
about 0.8-1 ms of CPU per call (header objects, auth flow, decoding), as much as the server
spends on a small answer, so its cost, not the server's, set much of the latency. This
client sends a request prepared as bytes and reads the answer by ``Content-Length``: a few
tens of µs per call. It speaks only what the benchmarks need: GET, POST of a JSON body,
keep-alive, answers with a ``Content-Length`` (every answer of the app has one); anything
else is an error.
"""

from __future__ import annotations

import base64
import socket
from urllib.parse import urlsplit

_HEADERS_END = b"\r\n\r\n"


class LeanHttpError(Exception):
    """The connection broke, or the answer was not one this client can read."""


class LeanClient:
    """One keep-alive connection; ``get(path)`` and ``post(path, body)`` answer
    ``(status, body)``."""

    def __init__(self, base: str, auth: tuple[str, str], timeout: float = 60) -> None:
        parts = urlsplit(base)
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        self._headers = (
            f"Host: {parts.netloc}\r\nAuthorization: Basic {token}\r\n"
            "Accept: application/json\r\n\r\n"
        ).encode()
        self._socket = socket.create_connection(self._address, timeout=timeout)
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def request_bytes(self, path: str) -> bytes:
        return f"GET {path} HTTP/1.1\r\n".encode() + self._headers

    def get(self, path: str) -> tuple[int, bytes]:
        return self.send(self.request_bytes(path))

    def post_bytes(self, path: str, body: bytes) -> bytes:
        """A prepared ``POST`` of a JSON body (encode before the clock starts)."""
        head = (
            f"POST {path} HTTP/1.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
        )
        return head.encode() + self._headers + body

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        return self.send(self.post_bytes(path, body))

    def send(self, request: bytes) -> tuple[int, bytes]:
        """Send a prepared request and read its whole answer."""
        try:
            self._socket.sendall(request)
            head = self._read_head()
            status, length = _status_and_length(head)
            return status, self._read_exactly(length)
        except OSError as exc:
            raise LeanHttpError(repr(exc)) from exc

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> LeanClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _read_head(self) -> bytes:
        buffer = self._buffer
        while (end := buffer.find(_HEADERS_END)) < 0:
            chunk = self._socket.recv(262_144)
            if not chunk:
                raise LeanHttpError("the server closed the connection")
            buffer += chunk
        self._buffer = buffer[end + 4 :]
        return buffer[:end]

    def _read_exactly(self, length: int) -> bytes:
        buffer = self._buffer
        while len(buffer) < length:
            chunk = self._socket.recv(max(262_144, length - len(buffer)))
            if not chunk:
                raise LeanHttpError("the server closed the connection mid-answer")
            buffer += chunk
        self._buffer = buffer[length:]
        return buffer[:length]


def _status_and_length(head: bytes) -> tuple[int, int]:
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split(b" ", 2)[1])
    except (IndexError, ValueError) as exc:
        raise LeanHttpError(f"not an HTTP status line: {lines[0][:80]!r}") from exc
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return status, int(value)
    raise LeanHttpError(f"an answer without Content-Length: {head[:200]!r}")
