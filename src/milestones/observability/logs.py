"""Logs: uvicorn's text, or one JSON object a line (``MILESTONES_LOG_FORMAT=json``).

Every line written while a request is handled carries its request id (a context
variable set by :class:`milestones.api.observe.Observe`), and so does the access line
the middleware writes when the answer ends. Nothing here ever logs a header, a body or
a query string: secrets and tokens travel in those.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID: ContextVar[str | None] = ContextVar("milestones_request_id", default=None)
ACCESS = logging.getLogger("milestones.access")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        record.__dict__.pop("color_message", None)  # uvicorn's terminal copy of the message
        return True


def configure(level: str, log_format: str) -> None:
    """Set the root handler once: text (the default) or JSON lines, on stderr."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                datefmt="%Y-%m-%dT%H:%M:%S%z",
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    for existing in list(root.handlers):
        if getattr(existing, "_milestones", False):
            root.removeHandler(existing)
    handler._milestones = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = []  # through the root handler, in the same format
        logger.propagate = True
    # milestones.access writes the one access line. uvicorn's own would be a second, with
    # the client's address and the query string, where a careless client puts its token
    # or secret: it stays off (uvicorn logs it only when the logger has a handler).
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
