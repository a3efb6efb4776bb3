"""axe-core (node_modules/axe-core, pinned in package-lock.json) on every page of the portal, in
English and Dutch, at 1280 and 360 px, with JavaScript on: no violation of any of its default rules
(WCAG 2.x A/AA and best practices), and at 360 px no page wider than the screen. News is on, and
the mailbox is checked again after the team has acknowledged and replied. The pages come from the
app's URL map, so a new page is either visited here or named with the reason it is not: an unknown
GET route fails the test."""

import datetime
import re
import time
from pathlib import Path

import pyotp
import pytest

from .browser import chromium, live_server
from .conftest import csrf_token
from .portal_helpers import REPORT, passphrase_from, submit_report
from .team_helpers import PASSWORD, add_report, settings_of, team_client, team_today
from .test_pseudo_locale import NOTICE_KEY

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent.parent / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = [{"width": 1280, "height": 800}, {"width": 360, "height": 740}]
LANGUAGES = ["en", "nl"]
# News on (MELDPUNT_NOTICE_KEY): the address field on the form, the news form in the mailbox.
NEWS = {"MELDPUNT_NOTICE_KEY": NOTICE_KEY, "MELDPUNT_BASE_URL": "https://report.example.nl"}

# GET routes that are not pages: what they answer instead.
NOT_PAGES = {
    "static": "files",
    "reporter.security_txt": "text/plain",
    "reporter.robots_txt": "text/plain",
    "reporter.download": "a decrypted attachment",
    "reporter.envelope": "an envelope, opened by the script in the mailbox page",
    "reporter.upload_status": "JSON for the upload script",
    "team.upload_status": "JSON for the upload script",
    "team.enrol_qr": "an SVG image, with its alt text on the enrolment page",
    "team.export": "a zip",
    "team.export_since": "a zip, or a redirect to the list",
    "audit.head_file": "JSON",
    "audit.processing_json": "JSON",
    "audit.processing_markdown": "Markdown",
}
# The pages, by the browser that sees them: anonymous (and, signed in with a passphrase, the
# reporter) or the team's admin, who also sees the privacy officer's pages. `{reference}` and
# `{token}` are filled in below.
REPORTER_PAGES = {
    "reporter.home": ["/", "/missing"],  # and an error page
    "reporter.policy": ["/policy"],
    "reporter.report_form": ["/report"],
    "reporter.login": ["/replies"],
    "reporter.team_key_page": ["/key"],
    "reporter.hall_of_fame": ["/hall-of-fame"],
    "reporter.mailbox": ["/mailbox"],
    "reporter.close": ["/mailbox/close"],
    "reporter.news_stop": ["/news/stop/a-link-no-mail-carried"],
}
TEAM_PAGES = {
    "team.signin": ["/team/signin"],
    "team.enrol": ["/team/enrol/{token}"],
    "team.home": ["/team/", "/team/?show=overdue"],
    "team.report": ["/team/reports/{reference}"],
    "team.users": ["/team/users"],
    "team.proposals": ["/team/proposals"],
    "audit.home": ["/audit/"],
    "audit.inventory": ["/audit/inventory"],
    "audit.retention": ["/audit/retention"],
    "audit.history": ["/audit/history"],
    "audit.selfcheck": ["/audit/self-check"],
    "audit.processing": ["/audit/processing"],
    "audit.proposals": ["/audit/proposals"],
}


def _context():
    # Playwright's add_script_tag(path=…) puts the file's text in an inline <script>, which the
    # portal's CSP refuses (and most pages allow no script at all). Only this test, whose script is
    # the measuring instrument, bypasses the CSP; tests/test_browser.py keeps checking that the real
    # pages cause no CSP violation.
    return chromium(java_script=True, bypass_csp=True)


def _axe(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map((v) =>
                `${v.id} (${v.impact}): ${v.help} — ` + v.nodes.map((n) => n.target.join(" ")).join(", "));
        }"""
    )
    return violations


def _check(page, url: str, problems: list[str], prepare=None) -> None:
    """axe on `url` in each language and width; `prepare(page)` brings it into the state to check."""
    for language in LANGUAGES:
        for viewport in VIEWPORTS:
            page.set_viewport_size(viewport)
            page.goto(url + ("&" if "?" in url else "?") + f"lang={language}")
            if page.locator("form[data-seal]").count() and page.locator("script[src]").count():
                page.wait_for_selector("form[data-enhanced=yes]")
            if prepare:
                prepare(page)
            where = f"{url} [{language}, {viewport['width']} px]"
            problems += [f"{where}: {violation}" for violation in _axe(page)]
            problems += _too_wide(page, where)


def _too_wide(page, where: str) -> list[str]:
    """Nothing wider than the screen: a wide table scrolls in its own box (.table-scroll), the
    page never sideways (WCAG 1.4.10 reflow)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    if width <= page.viewport_size["width"]:
        return []
    widest = page.evaluate(
        """(limit) => [...document.querySelectorAll("body *")]
            .filter((e) => e.getBoundingClientRect().right > limit && !e.closest(".table-scroll table"))
            .slice(-3)
            .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)""",
        page.viewport_size["width"],
    )
    return [f"{where}: the page is {width} px wide ({', '.join(widest)})"]


def test_every_get_route_is_checked_or_named(portal):
    known = set(NOT_PAGES) | set(REPORTER_PAGES) | set(TEAM_PAGES)
    routes = {rule.endpoint for rule in portal.url_map.iter_rules() if "GET" in rule.methods}
    assert routes - known == set(), "a new page: add it to REPORTER_PAGES or TEAM_PAGES (or NOT_PAGES, with why)"
    assert known - routes == set(), "gone from the app: remove it here"


def _empty_submit(page):
    page.click("form[data-seal] button[type=submit]")
    page.wait_for_selector("[data-error-summary]:not([hidden])")


def _submit_empty_without_script(page):
    with page.expect_navigation():
        page.evaluate("document.querySelector('form[novalidate]').submit()")


def _team_answers(portal) -> None:
    """The team acknowledges (assessment and expected fix date) and replies, as in
    tests/test_acknowledge.py: the mailbox then shows both."""
    from app.domain.db import database
    from app.domain.models import Report

    team = team_client(portal, "hanna", "handler")
    with portal.app_context(), database.connection_context():
        report = f"/team/reports/{Report.get().reference}"
    fix = (team_today(portal) + datetime.timedelta(days=30)).isoformat()
    for action, data in [
        ("acknowledge", {"assessment": "Confirmed, severity high.", "fix_expected": fix}),
        ("reply", {"message": "A fix is on its way."}),
    ]:
        token = csrf_token(team.get(report).data)
        assert team.post(f"{report}/{action}", data={"csrf_token": token, **data}).status_code in (302, 303), action


def test_reporter_pages(make_portal):
    portal = make_portal(MELDPUNT_POW_BITS=0, **NEWS)
    sent = submit_report(portal.test_client(), {**REPORT, "news_address": "reporter@example.org"}, files=[])
    passphrase = passphrase_from(sent.data)
    problems = []
    with live_server(portal) as base, _context() as context:
        page = context.new_page()
        for endpoint, paths in REPORTER_PAGES.items():
            if endpoint.startswith("reporter.mailbox") or endpoint == "reporter.close":
                continue
            for path in paths:
                _check(page, base + path, problems)
        # Error states: the summary at the top, a message at each field.
        _check(page, base + "/report", problems, _empty_submit)
        _check(page, base + "/replies", problems, _submit_empty_without_script)
        # The passphrase page, as the script puts it in place of the form.
        for language in LANGUAGES:
            page.goto(f"{base}/report?lang={language}")
            page.wait_for_selector("form[data-enhanced=yes]")
            page.check("#accept_policy")
            for name in ("title", "system", "description"):
                page.fill(f"#{name}", "x")
            page.click("form[data-seal] button[type=submit]")
            page.wait_for_selector(".passphrase", timeout=30_000)
            problems += [f"passphrase page [{language}]: {violation}" for violation in _axe(page)]
            problems += _too_wide(page, f"passphrase page [{language}]")
        # The mailbox, signed in with the passphrase.
        page.goto(base + "/replies")
        page.fill("#passphrase", passphrase)
        page.click("button[type=submit]")
        page.wait_for_url("**/mailbox")
        for path in REPORTER_PAGES["reporter.mailbox"] + REPORTER_PAGES["reporter.close"]:
            _check(page, base + path, problems)
        _check(page, base + "/mailbox", problems, _empty_submit)
        _check(page, base + "/mailbox/close", problems, _submit_empty_without_script)
        # Again once the team has answered: the assessment, the expected fix date, a reply.
        _team_answers(portal)
        page.goto(base + "/mailbox?lang=en")
        assert page.locator("button[value=remove]").count() == 1  # a news address is kept
        _check(page, base + "/mailbox", problems)
        _check(page, base + "/mailbox", problems, _empty_submit)
    assert not problems, "\n".join(problems)


def _team_portal(make_portal):
    from app.domain import deadlines, workflow
    from app.domain.accounts import create
    from app.domain.db import database
    from app.domain.models import Report

    portal = make_portal(**NEWS)
    submit_report(portal.test_client(), files=[])
    with portal.app_context(), database.connection_context():
        _, token = create("root", "admin")
        _, waiting = create("hanna", "handler")  # a link not yet used: the enrolment page
        report = Report.get()
        workflow.record(report, None, "viewed")
        # Every colour the list has: clocks overdue and due soon, a report marked exploited.
        today = team_today(portal)
        add_report(portal, "MP-OVER-DUE1", received=today - datetime.timedelta(days=40), exploited=True)
        add_report(portal, "MP-SOON-DUE1", received=deadlines.due_soon_cutoff(settings_of(portal)))
    return portal, token, waiting, report.reference


def _sign_in(page, base, token):
    page.goto(f"{base}/team/enrol/{token}")
    page.fill("#password", PASSWORD)
    page.fill("#again", PASSWORD)
    page.click("button[type=submit]")
    secret = re.search(r"[A-Z2-7]{16,}", page.inner_text("code.key")).group(0)
    totp = pyotp.TOTP(secret)
    page.fill("#code", totp.now())
    page.click("button[type=submit]")
    page.fill("#name", "root")
    page.fill("#password", PASSWORD)
    page.fill("#code", totp.at(time.time() + 30))
    page.click("button[type=submit]")
    page.wait_for_url("**/team/")


def test_team_and_privacy_officer_pages(make_portal):
    portal, token, waiting, reference = _team_portal(make_portal)
    problems = []
    with live_server(portal) as base, _context() as context:
        page = context.new_page()
        # Before signing in: the sign-in page (and its errors), the enrolment pages.
        _check(page, base + "/team/signin", problems)
        _check(page, base + "/team/signin", problems, _submit_empty_without_script)
        _check(page, f"{base}/team/enrol/{waiting}", problems)
        _check(page, f"{base}/team/enrol/{waiting}", problems, _submit_empty_without_script)
        _sign_in(page, base, token)
        page.goto(base + "/team/users")  # a proposal, for the tables of proposals
        page.fill("#new-name", "olga")
        page.select_option("#new-role", "auditor")
        page.click("form[action$='/users/add'] button[type=submit], form:has(#new-name) button[type=submit]")
        page.wait_for_load_state()
        for endpoint, paths in TEAM_PAGES.items():
            if endpoint in ("team.signin", "team.enrol"):
                continue
            for path in paths:
                _check(page, base + path.format(reference=reference), problems)
        _check(page, f"{base}/team/reports/{reference}", problems, _empty_submit)  # the reply's check
    assert not problems, "\n".join(problems)
