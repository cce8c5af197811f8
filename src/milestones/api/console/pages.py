"""Rendering the console's pages: one Jinja2 environment, autoescaped, and the headers
every page is sent with (no caching, no framing, scripts and styles from this server only)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from milestones.api.console.sessions import ConsoleSession
from milestones.domain.periods import PeriodWindow

HERE = Path(__file__).parent
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def amount(value: Decimal | int | float | None) -> str:
    """``Decimal("1200.500")`` -> ``1,200.5``; no trailing zeros."""
    if value is None:
        return "-"
    number = Decimal(value)
    text = f"{number:,.3f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def local(instant: datetime | None, zone: str | ZoneInfo = "UTC", with_time: bool = True) -> str:
    """An instant in a zone, as people read it: ``2024-08-27 15:30``."""
    if instant is None:
        return "-"
    shown = instant.astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone)
    return shown.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def dates(window: PeriodWindow, zone: str) -> str:
    """A period's first and last day in the group's zone: ``2024-08-01 to 2024-08-31``."""
    where = ZoneInfo(zone)
    return f"{window.start_date(where).isoformat()} to {window.end_date(where).isoformat()}"


_environment = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters["amount"] = amount
_environment.filters["local"] = local
_environment.filters["dates"] = dates


def render(
    request: Request,
    template: str,
    context: Mapping[str, object],
    *,
    session: ConsoleSession | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page of the console: ``template`` with ``context``, the signed-in user and their
    CSRF token (every form needs it), and the path, for the navigation bar."""
    page = _environment.get_template(template).render(
        {
            **context,
            "session": session,
            "user": session.user if session else None,
            "org": session.caller.org if session else None,
            "csrf": context.get("csrf", session.csrf if session else ""),
            "path": request.url.path,
        }
    )
    return HTMLResponse(page, status_code=status_code, headers=_HEADERS)
