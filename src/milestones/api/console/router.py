"""``/console``: sign-in, sign-out, the stylesheet, and how the console joins the app."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from milestones.api.auth import client_address
from milestones.api.console import customer_pages, group_pages, ops_pages
from milestones.api.console.pages import HERE, render
from milestones.api.console.problems import Problem
from milestones.api.console.sessions import (
    REFUSED,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    CsrfRefused,
    Session,
    SignInBusy,
    SignInNeeded,
    check_csrf,
    set_cookie,
    sign_in,
    sign_in_csrf,
    sign_out,
)
from milestones.api.dependencies import AppClock, AppDatabase
from milestones.api.throttle import LoginThrottle
from milestones.domain.console import ADDRESS_FAILURES, ADDRESS_WINDOW, SESSION_LIFETIME
from milestones.domain.errors import TooManyAttempts

router = APIRouter(prefix="/console", include_in_schema=False)
_STYLES = (HERE / "static" / "console.css").read_bytes()
_SIGN_IN_SECONDS = 3600
_THROTTLED = "console sign-in"  # the throttle's name for every email from one address
BUSY = "Too many sign-ins are being checked at once: try again in a moment."


def install_console(app: FastAPI) -> None:
    """The console's pages on the app, and the answers to its own refusals (as pages)."""
    app.include_router(router)
    app.state.console_throttle = LoginThrottle(
        app.state.clock,
        max_failures=ADDRESS_FAILURES,
        window=ADDRESS_WINDOW.total_seconds(),
        lockout=ADDRESS_WINDOW.total_seconds(),
    )
    app.include_router(group_pages.router)
    app.include_router(customer_pages.router)
    app.include_router(ops_pages.router)

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        wanted = request.url.path if request.method == "GET" else "/console/groups"
        return RedirectResponse(f"/console/sign-in?next={wanted}", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        message = "This form is out of date or did not come from the console: open the page again."
        return render(request, "problem.html", {"title": "Refused", "message": message},
                      status_code=403)  # fmt: skip

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        context = {"title": exc.title, "message": exc.message}
        return render(request, "problem.html", context, session=exc.session,
                      status_code=exc.status)  # fmt: skip


@router.get("")
def home() -> Response:
    return RedirectResponse("/console/groups", status_code=303)


@router.get("/static/console.css")
def styles() -> Response:
    return Response(_STYLES, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    csrf = sign_in_csrf(request)
    wanted = request.query_params.get("next")
    context: dict[str, object] = {"title": "Sign in", "csrf": csrf, "email": ""}
    context["request_next"] = quote(_safe_next(wanted)) if wanted else ""
    page = render(request, "sign_in.html", context)
    set_cookie(request, page, SIGN_IN_COOKIE, csrf, _SIGN_IN_SECONDS)
    return page


@router.post("/sign-in")
async def sign_in_form(request: Request, database: AppDatabase, clock: AppClock) -> Response:
    form = await check_csrf(request, request.cookies.get(SIGN_IN_COOKIE, ""))
    email, password = form.get("email", "")[:300], form.get("password", "")
    now: datetime = clock.now()
    # Failures per address too, whichever emails they try (a spray of a few guesses at
    # many emails never locks any one email).
    throttle: LoginThrottle = request.app.state.console_throttle
    address = client_address(request)
    try:
        throttle.check(_THROTTLED, address)
        token = await run_in_threadpool(sign_in, database, now, email, password)
    except TooManyAttempts:
        return _refused(request, form, email, REFUSED, 429)
    except SignInBusy:
        return _refused(request, form, email, BUSY, 503)
    if token is None:
        throttle.failed(_THROTTLED, address)
        return _refused(request, form, email, REFUSED, 400)
    answer = RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    set_cookie(request, answer, SESSION_COOKIE, token, int(SESSION_LIFETIME.total_seconds()))
    answer.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return answer


def _refused(
    request: Request, form: dict[str, str], email: str, message: str, status: int
) -> Response:
    """The sign-in page again, with the email typed and why it was refused."""
    context: dict[str, object] = {"title": "Sign in", "csrf": form["csrf"], "email": email}
    context["error"] = message
    wanted = request.query_params.get("next")
    context["request_next"] = quote(_safe_next(wanted)) if wanted else ""
    return render(request, "sign_in.html", context, status_code=status)


@router.post("/sign-out")
async def sign_out_form(request: Request, session: Session, database: AppDatabase) -> Response:
    await check_csrf(request, session.csrf)
    await run_in_threadpool(sign_out, database, session.token_hash)
    answer = RedirectResponse("/console/sign-in", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/console")
    return answer


def _safe_next(wanted: str | None) -> str:
    """Where to go after signing in: a console page of this server, never elsewhere."""
    if not wanted or len(wanted) > 200:
        return "/console/groups"
    parts = urlsplit(wanted)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return "/console/groups"
    if parts.path.startswith("/console/sign-"):
        return "/console/groups"
    return parts.path
