"""The privacy officer's pages in Chromium with JavaScript off: every page, every filter, every
download, in English and Dutch, without a console error or a CSP violation."""

import json
import re
import time
from pathlib import Path

import pyotp
import pytest

from .browser import chromium, live_server
from .portal_helpers import submit_report
from .team_helpers import PASSWORD

pytestmark = pytest.mark.browser


def _officer_portal(make_portal):
    from app.domain import workflow
    from app.domain.accounts import create
    from app.domain.db import database
    from app.domain.models import Report

    portal = make_portal()
    submit_report(portal.test_client(), files=[])
    with portal.app_context(), database.connection_context():
        _, token = create("olga", "auditor")
        handler, _ = create("hanna", "handler")
        report = Report.get()
        workflow.record(report, handler, "viewed")
        for number in range(55):  # more than a page of history
            workflow.record(None, handler, "export", f"test {number}")
    return portal, token, report.reference


def _sign_in(page, base, token, name="olga"):
    """Enrol through the link and sign in, as an officer does, without JavaScript."""
    page.goto(f"{base}/team/enrol/{token}")
    page.fill("#password", PASSWORD)
    page.fill("#again", PASSWORD)
    page.click("button[type=submit]")
    secret = re.search(r"[A-Z2-7]{16,}", page.inner_text("code.key")).group(0)
    totp = pyotp.TOTP(secret)
    page.fill("#code", totp.now())
    page.click("button[type=submit]")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.fill("#code", totp.at(time.time() + 30))
    page.click("button[type=submit]")
    page.wait_for_url("**/audit/")


def _filter(page) -> None:
    """Send the history's filter form (a GET) and wait for the page it brings."""
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    page.wait_for_load_state()


def _download(page, link_text: str):
    with page.expect_download() as waiting:
        page.click(f"a:has-text('{link_text}')")
    download = waiting.value
    return download.suggested_filename, Path(download.path()).read_text(encoding="utf-8")


def test_the_officer_walks_every_page_without_javascript(make_portal):
    portal, token, reference = _officer_portal(make_portal)
    problems = []
    with live_server(portal) as base, chromium(java_script=False) as context:
        page = context.new_page()
        page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
        _sign_in(page, base, token)
        assert "Privacy officer" in page.inner_text("h1")

        page.click("nav.audit a:has-text('Data inventory')")
        assert page.inner_text("h1") == "Data inventory"
        assert page.locator("section#table-chunk table tbody tr").count() == 4
        assert "No label" not in page.inner_text("main")

        page.click("nav.audit a:has-text('Retention')")
        assert page.inner_text("h1") == "Retention"
        assert "MELDPUNT_RETAIN_SPAM_DAYS" in page.inner_text("main")

        page.click("nav.audit a:has-text('History')")
        assert "yes: every entry follows the one before" in page.inner_text("dl.status")
        assert "Page 1 of 2" in page.inner_text("main")
        page.click("p.pages a:has-text('Next')")
        assert "Page 2 of 2" in page.inner_text("main")
        page.select_option("#user", "hanna")
        _filter(page)
        assert "user=hanna" in page.url
        assert set(page.locator("table.history tbody td:nth-child(3)").all_inner_texts()) == {"hanna"}
        page.fill("#reference", reference.lower())
        _filter(page)
        assert page.locator("table.history tbody tr").count() == 1
        assert "viewed" in page.inner_text("table.history")
        page.click("a:has-text('Show all')")
        assert "Page 1 of 2" in page.inner_text("main")
        name, text = _download(page, "Download the head")
        assert name.startswith("meldpunt-head-")
        assert name.endswith(".json")
        assert json.loads(text)["format"] == "meldpunt-history-head"
        page.click("button:has-text('Verify now and record it')")
        assert "The history verifies:" in page.inner_text("main")
        assert page.url.endswith("/audit/history")  # back on the page: a reload verifies nothing
        assert ", by " in page.inner_text("dl.status")

        page.click("nav.audit a:has-text('Self-check')")
        assert page.locator("table.checks tbody tr").count() == 10
        assert "fail" in page.inner_text("#check-secure-cookies")  # plain-http cookies in the test portal

        page.click("nav.audit a:has-text('Record of processing')")
        assert "Record of processing activities" in page.inner_text("h1")
        name, text = _download(page, "Download as Markdown")
        assert name == "record-of-processing.en.md"
        assert text.startswith("# Record of processing activities")
        name, text = _download(page, "Download as JSON")
        assert name == "record-of-processing.en.json"
        assert json.loads(text)["language"] == "en"

        # The same in Dutch, through the language switch on the page.
        page.click("nav.languages a[lang=nl]")
        assert page.locator("html").get_attribute("lang") == "nl"
        name, text = _download(page, "Markdown")
        assert name == "record-of-processing.nl.md"
        for path in ("/audit/", "/audit/inventory", "/audit/retention", "/audit/history", "/audit/self-check"):
            page.goto(base + path)
            assert page.locator("html").get_attribute("lang") == "nl"
            assert page.locator("nav.audit").count() == 1  # the page itself, not an error
        page.click("nav.audit a[href='/audit/history']")
        page.select_option("#user", "hanna")
        _filter(page)
        assert "user=hanna" in page.url
    assert problems == []
