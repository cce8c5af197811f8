"""The console's refusals, answered as pages: not found, not allowed, bad input."""

from __future__ import annotations

from milestones.api.console.sessions import ConsoleSession

MAX_ID = 2**62


class Problem(Exception):
    """A page that says what is wrong (``status``: 400, 403 or 404)."""

    def __init__(
        self, status: int, title: str, message: str, session: ConsoleSession | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.session = session


def id_in_path(text: str, what: str, session: ConsoleSession) -> int:
    """A positive id from the path, or a 404 page (another org's id is not found either)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or not 1 <= int(text) <= MAX_ID:
        raise Problem(404, "Not found", f"There is no {what} {text[:40]!r}.", session)
    return int(text)


def may_change_groups(session: ConsoleSession) -> None:
    """Refuse (403) a user whose role may not create or change groups."""
    if not session.user.role.may_change_groups:
        raise Problem(
            403,
            "Not allowed",
            f"Your role, {session.user.role.value}, reads groups but may not create or change "
            "them: ask an ADMIN or MARKETER of your org.",
            session,
        )
