"""The console in a real browser: headless Chromium, driven by Selenium, on a served SQLite.

One ``milestones serve`` and one browser for the module; the tests run in order, as a
person would use the console: sign in, a failed form, a group made through the form, a
customer's progress from events sent through the API, a streak walk (the server restarted
with ``MILESTONES_NOW`` two days on), a SUPPORT user, sign-out. Each page is saved as a
screenshot in ``var/screenshots/``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from tests.api.console_helpers import PASSWORD
from tests.conftest import START
from tests.integration.served import Served
from tests.integration.test_concurrency import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "var" / "screenshots"
ORG_ID = 50363
CLIENT = ("console-test", "console-secret")
MARKETER = "maria@example.com"
SUPPORT = "sam@example.com"
CUSTOMER = 7001
WALKER = 7002
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1600",
)

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="Debian's chromium and chromium-driver: scripts/test.sh installs them",
)


@dataclass
class Console:
    """The served console, its database, and the browser on it."""

    server: Served
    url: str
    folder: Path
    browser: WebDriver

    @property
    def base(self) -> str:
        return self.server.base

    def open(self, path: str) -> None:
        self.browser.get(self.base + path)

    def shot(self, name: str) -> None:
        """Save what the browser shows, the whole page tall, as ``var/screenshots/NAME.png``."""
        height = self.browser.execute_script("return document.documentElement.scrollHeight")
        self.browser.set_window_size(1280, max(800, min(int(height) + 40, 6000)))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))

    def find(self, css: str) -> WebElement:
        return self.browser.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        return self.browser.find_elements(By.CSS_SELECTOR, css)

    def fill(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            field = self.browser.find_element(By.NAME, name)
            if field.tag_name == "select":
                field.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()  # no load
            else:
                field.clear()
                field.send_keys(value)

    def click(self, element: WebElement) -> None:
        """Click a link or button that loads a page, and wait until the new page is there."""
        page = self.browser.find_element(By.TAG_NAME, "html")
        element.click()
        WebDriverWait(self.browser, 30).until(_gone(page))

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, auth=CLIENT, timeout=30.0)

    def restart(self, env: dict[str, str]) -> None:
        """The same database served again, its clock moved (``MILESTONES_NOW``)."""
        self.server.close()
        self.server = Served(self.url, self.folder, name="moved", env=env)
        self.server.start()


def _gone(page: WebElement) -> Callable[[WebDriver], bool]:
    """Whether the old page's root node is gone: stale, as Selenium says it, or "does not
    belong to the document", as chromedriver sometimes answers while the old page is torn
    down (a race of the navigation, seen under load in CI)."""

    def check(_: WebDriver) -> bool:
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    return check


@pytest.fixture(scope="module")
def console() -> Iterator[Console]:
    folder = Path(tempfile.mkdtemp(prefix="console-browser-"))
    url = f"sqlite:///{folder / 'console.db'}"
    database = Database(url)
    database.migrate()
    clock = Clock(START)
    admin.create_org(
        database,
        clock,
        org_id=ORG_ID,
        name="Demo org",
        time_zone="UTC",
        client_id=CLIENT[0],
        client_secret=CLIENT[1],
    )
    for email, role in ((MARKETER, "MARKETER"), (SUPPORT, "SUPPORT")):
        admin.create_console_user(
            database, clock, org_id=ORG_ID, email=email, role=role, password=PASSWORD
        )
    database.dispose()
    server = Served(url, folder, name="console")
    server.start()
    browser = _browser(folder)
    console = Console(server, url, folder, browser)
    try:
        yield console
    finally:
        browser.quit()
        console.server.close()
        shutil.rmtree(folder, ignore_errors=True)


def _browser(folder: Path) -> WebDriver:
    """Headless Chromium through Debian's chromedriver (selenium-manager never runs); a
    second try with a fresh profile if the first start fails (a loaded machine can miss
    chromedriver's start-up deadline)."""
    for attempt in (1, 2):
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*FLAGS, f"--user-data-dir={folder / f'chromium-{attempt}'}"):
            options.add_argument(flag)
        try:
            browser = webdriver.Chrome(
                service=Service(executable_path=str(CHROMEDRIVER)), options=options
            )
        except WebDriverException:
            if attempt == 2:
                raise
            continue
        browser.implicitly_wait(2)
        return browser
    raise AssertionError("unreachable")


def _sign_in(console: Console, email: str, password: str) -> None:
    console.open("/console/sign-in")
    console.fill({"email": email, "password": password})
    console.click(console.find("form button[type=submit]"))


def test_sign_in_refuses_a_wrong_password_then_lets_the_right_one_in(console: Console) -> None:
    console.open("/console/groups")
    assert console.browser.current_url.startswith(console.base + "/console/sign-in")
    console.shot("sign-in")
    _sign_in(console, MARKETER, "not the password at all")
    assert "Wrong email or password" in console.find("[role=alert]").text
    assert console.find("#email").get_attribute("value") == MARKETER
    console.shot("sign-in-refused")
    _sign_in(console, MARKETER, PASSWORD)
    assert console.browser.current_url == console.base + "/console/groups"
    assert "No target groups yet" in console.find("main").text
    nav = console.find("nav[aria-label=Console]")
    assert [a.text for a in nav.find_elements(By.TAG_NAME, "a")] == [
        "Groups",
        "New group",
        "Customers",
        "Webhooks",
        "Jobs",
    ]
    console.shot("groups-empty")


MONTHLY = {
    "name": "Spend 1000 a month",
    "trackingType": "DEFAULT",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "frequencyType": "MONTHLY",
    "frequency": "1",
    "totalPeriods": "3",
    "recurringCycles": "-1",
    "targetCycleStartDate": "2024-08-01T00:00:00.000",
    "targetCycleEndDate": "2024-10-31T23:59:59.000",
    "targets[0].name": "spend",
    "targets[0].targetEntity": "TRANSACTION",
    "targets[0].targetType": "SALES",
    "targets[0].targetMilestoneTriggers[0].triggerName": "halfway",
    "targets[0].targetMilestoneTriggers[0].triggerValueType": "PERCENTAGE",
    "targets[0].targetMilestoneTriggers[0].triggerValue": "50",
}


def test_a_failed_form_shows_the_error_beside_its_field_and_keeps_the_values(
    console: Console,
) -> None:
    console.open("/console/groups/new")
    console.fill({**MONTHLY, "targets[0].defaultValue": "a thousand"})
    console.click(console.find("button[value=create]"))
    field = console.find("#f-targets-0-defaultValue")
    assert field.get_attribute("aria-invalid") == "true"
    beside = console.find("#targets-0-defaultValue-error")
    assert "must be a number" in beside.text
    # The error is in the same field block as its input, and the form kept what was typed.
    assert field.find_element(By.XPATH, "..") == beside.find_element(By.XPATH, "..")
    assert field.get_attribute("value") == "a thousand"
    assert console.find("#f-name").get_attribute("value") == MONTHLY["name"]
    assert console.find("#f-targets-0-targetMilestoneTriggers-0-triggerName").get_attribute(
        "value"
    ) == ("halfway")
    console.shot("new-group-error")


def test_creating_a_default_monthly_group_through_the_form_after_a_preview(
    console: Console,
) -> None:
    console.fill({"targets[0].defaultValue": "1000", "from": "2024-08-01", "to": "2024-08-27"})
    console.click(console.find("button[value=preview]"))
    rows = console.all("#preview-title + table tbody tr")
    assert [row.text.split()[1:] for row in rows] == [
        ["2024-08-01", "2024-08-31"],
        ["2024-09-01", "2024-09-30"],
        ["2024-10-01", "2024-10-31"],
    ]
    console.click(console.find("button[value=simulate]"))
    assert "0 events read" in console.find("#simulation-title + p").text
    console.shot("new-group-preview-and-simulation")
    console.click(console.find("button[value=create]"))
    assert "/console/groups/" in console.browser.current_url
    assert "Group created." in console.find("[role=status]").text
    assert console.find("h1").text == MONTHLY["name"]
    assert len(console.all("section.period")) == 3


def test_the_customer_page_shows_progress_and_trigger_marks_of_events_sent_through_the_api(
    console: Console,
) -> None:
    with console.api() as api:
        for number, amount in ((1, 350), (2, 250)):
            event = {
                "eventName": "TransactionAdd",
                "eventId": f"bill-{number}",
                "userId": CUSTOMER,
                "eventTime": f"2024-08-2{number}T10:00:00.000",
                "transaction": {"billNumber": f"bill-{number}", "billAmount": amount},
            }
            answer = api.post("/v3/events", json=event)
            assert answer.json()["data"]["status"] == "APPLIED", answer.text
    console.open("/console/groups")
    row = console.find("tbody tr")
    assert "Spend 1000 a month" in row.text and "Cycle_1" in row.text
    assert [cell.text for cell in row.find_elements(By.CSS_SELECTOR, "td.num")] == ["1", "0"]
    console.shot("groups")
    console.click(console.find("tbody tr a"))
    funnel = console.find("svg.funnel")
    assert "Customers with progress 1, Reached halfway 1, Achieved 0" in (
        funnel.get_attribute("aria-label") or ""
    )
    console.shot("group")
    console.click(console.find("a[href='/console/customers']"))
    console.fill({"userId": str(CUSTOMER)})
    console.click(console.find("form.search button"))
    progress = console.find("div.progress")
    assert "600 of 1,000" in progress.find_element(By.CSS_SELECTOR, ".value").text
    bar = progress.find_element(By.CSS_SELECTOR, "svg.bar-chart")
    assert "trigger halfway at 500 reached" in (bar.get_attribute("aria-label") or "")
    fill = bar.find_element(By.CSS_SELECTOR, "rect.fill")
    assert fill.get_attribute("width") == "300.0"  # 600 of 1,000 of 500 pixels
    mark = bar.find_element(By.CSS_SELECTOR, "g.mark")
    assert "reached" in (mark.get_attribute("class") or "")
    assert mark.find_element(By.TAG_NAME, "line").get_attribute("x1") == "250.0"
    events = console.all("#events + table tbody tr")
    assert len(events) == 2 and "+250 to spend (Cycle_1)" in events[0].text
    console.shot("customer")


def test_the_webhooks_and_jobs_pages_say_what_to_do_while_empty(console: Console) -> None:
    console.click(console.find("a[href='/console/webhooks']"))
    assert "No webhook subscriptions" in console.find(".empty").text
    console.shot("webhooks-empty")
    console.click(console.find("a[href='/console/jobs']"))
    assert "No jobs yet" in console.find(".empty").text
    console.shot("jobs-empty")


DAILY = {
    "name": "Daily habit",
    "trackingType": "STREAKS",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "frequencyType": "DAILY",
    "frequency": 1,
    "totalPeriods": 7,
    "recurringCycles": -1,
    "timeZoneName": "UTC",
    "targetCycleStartDate": "2024-08-27T00:00:00.000",
    "targetCycleEndDate": "2024-09-02T23:59:59.000",
    "targets": [
        {
            "name": "daily spend",
            "targetEntity": "TRANSACTION",
            "targetType": "SALES",
            "defaultValue": 100,
        }
    ],
    "streaks": [{"name": "three days", "targetCountOfSequence": 3}],
    "streakFreezes": {"maxHeld": 2},
    "repairWindowDays": 3,
    "maxRepairs": 1,
}


def _buy(api: httpx.Client, day: str) -> None:
    event = {
        "eventName": "TransactionAdd",
        "eventId": f"daily-{day}",
        "userId": WALKER,
        "eventTime": f"{day}T09:00:00.000",
        "transaction": {"billNumber": f"daily-{day}", "billAmount": 150},
    }
    assert api.post("/v3/events", json=event).json()["data"]["status"] == "APPLIED"


def _outcomes(console: Console) -> list[str]:
    days = console.all("svg.calendar g.day")
    return [day.get_attribute("data-outcome") or "" for day in days]


def test_a_streak_calendar_after_a_walk_of_achieved_and_missed_days(console: Console) -> None:
    with console.api() as api:
        assert api.post("/v3/targetGroups", json=DAILY).status_code == 201
        _buy(api, "2024-08-27")
    later = START + timedelta(days=2)  # 2024-08-29 10:00 UTC: the 28th went by unbought
    console.restart({"MILESTONES_NOW": later.isoformat()})
    with console.api() as api:
        _buy(api, "2024-08-29")
    # Two days on, the session's two idle hours are long over: signed in again.
    console.open(f"/console/customers?userId={WALKER}")
    assert console.browser.current_url.startswith(console.base + "/console/sign-in")
    _sign_in(console, MARKETER, PASSWORD)
    console.open(f"/console/customers?userId={WALKER}")
    assert _outcomes(console) == ["ACHIEVED", "MISSED", "ACHIEVED", *["NOT_STARTED"] * 4]
    missed = console.find("svg.calendar g.outcome-missed rect")
    assert missed.value_of_css_property("fill") == "rgb(179, 38, 30)"
    console.shot("customer-streak")
    repair = next(b for b in console.all("div.care button") if b.text.startswith("Repair"))
    console.click(repair)
    assert "Repaired period" in console.find("[role=status]").text
    assert _outcomes(console)[:3] == ["ACHIEVED", "REPAIRED", "ACHIEVED"]
    console.fill({"count": "1"})
    console.click(next(b for b in console.all("div.care button") if b.text == "Grant"))
    assert "Granted 1 freeze" in console.find("[role=status]").text
    assert "freezes held: 1 of 2" in console.find("section.customer-group:last-of-type").text
    console.shot("customer-streak-cared")


def test_a_support_user_reads_but_cannot_create_a_group(console: Console) -> None:
    console.click(console.find("form.who button"))
    _sign_in(console, SUPPORT, PASSWORD)
    nav = console.find("nav[aria-label=Console]").text
    assert "Groups" in nav and "New group" not in nav
    console.open("/console/groups/new")
    assert "may not create or change" in console.find("[role=alert]").text
    console.shot("support-refused")
    console.open("/console/groups")
    console.click(console.find("tbody tr a"))
    assert "Your role (SUPPORT) reads this group" in console.find("main").text
    assert not console.all("form.grid")


def test_sign_out_ends_the_session(console: Console) -> None:
    console.click(console.find("form.who button"))
    assert console.browser.current_url.startswith(console.base + "/console/sign-in")
    console.open("/console/customers")
    assert console.browser.current_url.startswith(console.base + "/console/sign-in")
    assert not console.browser.get_cookie("milestones_console")
