"""Issue 13: the texts the scripts write go through the catalogue too (static/js/i18n.mjs `t`, the
translations in the page's data-texts). The report form in Chromium with the pseudo catalogue of
tests/test_pseudo_locale.py: every text its status line shows while checking, working, sending or
failing must be marked, and the page must be, with JavaScript on and off."""

import pytest

from .browser import chromium, live_server
from .test_pseudo_locale import PSEUDO, problems, pseudo_catalogue, pseudo_portal, unmarked  # noqa: F401

pytestmark = pytest.mark.browser

DATA = ("Example B.V.", "Nederlands", "English", "security.txt")
# Every text the status line and the progress text show, in order (a MutationObserver).
WATCH = """() => {
  window.shown = [];
  for (const node of document.querySelectorAll("[data-seal-status], [data-progress-text]")) {
    const record = () => window.shown.push(node.textContent);
    new MutationObserver(record).observe(node, { childList: true, subtree: true, characterData: true });
  }
}"""


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
        page.wait_for_timeout(500)
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
