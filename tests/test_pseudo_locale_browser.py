"""Issue 13: the texts the scripts write go through the catalogue too (static/js/i18n.mjs `t`, the
translations in the page's data-texts). Every form the scripts drive, in Chromium with the pseudo
catalogue of tests/test_pseudo_locale.py — the report form, the reporter's follow-up in the mailbox,
the team's reply: every text the status line and the progress text show while checking, working,
sending, failing or counting down to a retry (a dropped PUT) must be marked, and so must the page
with its error summary and messages, with JavaScript on and off."""

import os

import pytest

from .browser import chromium, live_server
from .portal_helpers import REPORT, passphrase_from, submit_report
from .test_browser import _team_sign_in_in_browser
from .test_pseudo_locale import PSEUDO, problems, pseudo_catalogue, pseudo_portal, unmarked  # noqa: F401

pytestmark = pytest.mark.browser

DATA = ("Example B.V.", "Nederlands", "English", "security.txt", "poc.bin", "A follow-up.", "A reply.", "root", "UTC")
# Every text the status line and the progress text show, in order (a MutationObserver).
WATCH = """() => {
  window.shown = [];
  for (const node of document.querySelectorAll("[data-seal-status], [data-progress-text]")) {
    const record = () => window.shown.push(node.textContent);
    new MutationObserver(record).observe(node, { childList: true, subtree: true, characterData: true });
  }
}"""
# The same from the first moment of every page, into a list in the test: the mailbox and the
# report page load again once a message is sent, which would lose a list kept in the page.
RECORD = """
const last = new Map();
new MutationObserver(() => {
  for (const node of document.querySelectorAll("[data-seal-status], [data-progress-text]")) {
    const text = node.textContent;
    if (text && last.get(node) !== text) { last.set(node, text); window.recordText(text); }
  }
}).observe(document, { childList: true, subtree: true, characterData: true });
"""


@pytest.fixture
def served(pseudo_portal):  # noqa: F811
    with live_server(pseudo_portal) as base:
        yield base


def _fill(page):
    page.check("#accept_policy")
    page.fill("#title", "Heap overflow")
    page.fill("#system", "viewer.example.nl")
    page.fill("#description", "Details.")


def _wait_for_texts(page, count: int) -> None:
    """Polled from here: the page's CSP refuses the eval that `wait_for_function` uses."""
    for _attempt in range(300):
        if page.evaluate("() => window.shown.length") >= count:
            return
        page.wait_for_timeout(100)
    raise AssertionError(page.evaluate("() => window.shown"))


def _unmarked(texts: list[str]) -> list[str]:
    return [text for text in texts if text.strip() and unmarked(text, DATA)]


def test_the_scripts_texts_pass_through_the_catalogue(served):
    with chromium() as context:
        page = context.new_page()
        page.goto(served + "/report")
        page.wait_for_selector("form[data-enhanced=yes]")
        untouched = page.content()
        assert problems(untouched, DATA) == []
        page.click("button[type=submit]")  # nothing filled in: the script's own check, its errors
        page.wait_for_selector("[data-error-summary]:not([hidden])")
        checked = page.content()
        assert checked != untouched
        assert problems(checked, DATA) == []
        # The server refuses the upload: the script's error text.
        page.evaluate(WATCH)
        page.route("**/uploads", lambda route: route.fulfill(status=403, json={}))
        _fill(page)
        page.click("button[type=submit]")
        _wait_for_texts(page, 2)
        page.wait_for_selector("button[type=submit]:not([disabled])")
        refused = page.evaluate("() => window.shown")
        assert problems(page.content(), DATA) == []
        page.unroute("**/uploads")
        page.evaluate(WATCH)
        page.click("button[type=submit]")  # and now sent: work, sending, progress
        page.wait_for_selector(".passphrase", timeout=30_000)
        sent = page.evaluate("() => window.shown")
        assert _unmarked(refused) == []
        assert _unmarked(sent) == []
        assert refused
        assert sent


def test_the_report_form_without_javascript(served):
    with chromium(java_script=False) as context:
        page = context.new_page()
        page.goto(served + "/report")
        assert problems(page.content(), DATA) == []


def _recording(context) -> list[str]:
    shown: list[str] = []
    context.expose_function("recordText", lambda text: shown.append(text))
    context.add_init_script(RECORD)
    return shown


def _drop_once(dropped: list[str]):
    """The second part's PUT fails once (as in tests/test_forms_browser.py): the countdown."""

    def handle(route):
        if route.request.method == "PUT" and route.request.url.endswith("/1") and not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    return handle


def _errors_then_send(page, served, path: str, message: str, files=(), data=DATA) -> None:
    """The form at `path` (enhanced): sent empty, its errors checked; then sent."""
    page.goto(served + path)
    page.wait_for_selector("form[data-enhanced=yes]")
    assert problems(page.content(), data) == []
    page.click("form[data-seal] button[type=submit]")
    page.wait_for_selector("[data-error-summary]:not([hidden])")
    assert problems(page.content(), data) == []
    page.fill("#message", message)
    if files:
        page.set_input_files("form[data-seal] input[type=file]", list(files))
    with page.expect_navigation(timeout=60_000):  # done: the page loads again, with its notice
        page.click("form[data-seal] button[type=submit]")
    page.wait_for_selector("form[data-enhanced=yes]")
    assert problems(page.content(), data) == []


def test_the_mailbox_scripts_texts_pass_through_the_catalogue(served, pseudo_portal, tmp_path):  # noqa: F811
    poc = tmp_path / "poc.bin"
    poc.write_bytes(os.urandom(6 * 1024 * 1024))  # two parts: the second one's PUT is dropped
    passphrase = passphrase_from(submit_report(pseudo_portal.test_client(), files=[]).data)
    dropped: list[str] = []
    with chromium() as context:
        shown = _recording(context)
        page = context.new_page()
        page.route("**/uploads/**", _drop_once(dropped))
        page.goto(served + "/replies")
        page.fill("#passphrase", passphrase)
        page.click("button[type=submit]")
        page.wait_for_url("**/mailbox")
        # The report, opened in the browser, shows what the reporter wrote: data, not texts.
        report = tuple(value for name, value in REPORT.items() if name not in ("accept_policy", "credit", "exploited"))
        _errors_then_send(page, served, "/mailbox", "A follow-up.", [str(poc)], DATA + report)
    assert dropped
    assert any(" 1 s" in text for text in shown), shown  # the countdown
    assert any("%" in text for text in shown), shown  # the progress
    assert _unmarked(shown) == []


def test_the_team_reply_scripts_texts_pass_through_the_catalogue(served, pseudo_portal):  # noqa: F811
    from app.domain.accounts import create
    from app.domain.db import database
    from app.domain.models import Report

    submit_report(pseudo_portal.test_client(), files=[])
    with pseudo_portal.app_context(), database.connection_context():
        _, token = create("root", "admin")
        reference = Report.get().reference
    with chromium() as context:
        shown = _recording(context)
        page = context.new_page()
        _team_sign_in_in_browser(page, served, token)
        _errors_then_send(page, served, f"/team/reports/{reference}", "A reply.", data=(*DATA, reference))
    assert shown
    assert _unmarked(shown) == []
