"""The news address in a real browser (Chromium through Playwright): with JavaScript on it is
posted beside the envelopes, never sealed into the report; with JavaScript off the report form
and the mailbox's form work as well."""

import json

import pytest

from crypto import PrivateKey, open_bytes

from .browser import chromium, live_server

pytestmark = pytest.mark.browser

ADDRESS = "browser-reporter-93b1@example.org"
NOTICE = PrivateKey.generate()


@pytest.fixture
def served(make_portal):
    with live_server(make_portal(MELDPUNT_NOTICE_KEY=NOTICE.secret_bytes().hex())) as base:
        yield base


def _fill(page):
    page.check("#accept_policy")
    page.fill("#title", "Open redirect in the sign-in page")
    page.fill("#system", "login.example.nl")
    page.fill("#description", "The next parameter is followed anywhere.")
    page.fill("#news_address", ADDRESS)


def _sealed_addresses():
    from app.domain import news
    from app.domain.db import database
    from app.domain.models import NewsAddress

    with database.connection_context():
        return [news.open_sealed((NOTICE,), bytes(row.sealed)).address for row in NewsAddress.select()]


def _report_body(team_key) -> bytes:
    from app.domain.blobs import BlobReader
    from app.domain.db import database
    from app.domain.models import Item

    with database.connection_context():
        item = Item.get(Item.kind == "report")
        return open_bytes(BlobReader(item).read(), team_key)[1]


def test_with_javascript_the_address_is_posted_beside_the_sealed_report(served, team_key):
    uploads, sealed_posts, problems = [], [], []
    with chromium() as context:
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))

        def seen(request):
            body = request.post_data_buffer or b""
            (sealed_posts if request.url.endswith("/report/sealed") else uploads).append(body)

        page.on("request", seen)
        page.goto(served + "/report?lang=en")
        page.wait_for_selector("form[data-enhanced=yes]")
        assert "if you want a short mail when there is news" in page.inner_text("main")
        _fill(page)
        page.click("form[data-seal] button[type=submit]")
        page.wait_for_selector(".passphrase", timeout=30_000)
    assert problems == []
    assert ADDRESS.encode() not in b"".join(uploads)  # not in any envelope or upload request
    assert [b"news_address=browser-reporter-93b1%40example.org" in body for body in sealed_posts] == [True]
    body = _report_body(team_key)
    assert b"93b1" not in body
    assert "news_address" not in json.loads(body)
    assert _sealed_addresses() == [ADDRESS]


def test_with_javascript_a_bad_address_is_said_and_nothing_is_stored(served):
    """Said beside the field before anything is sealed or uploaded (the server's rules and text)."""
    posted = []
    with chromium() as context:
        page = context.new_page()
        page.on("request", lambda request: request.method in ("POST", "PUT") and posted.append(request.url))
        page.goto(served + "/report?lang=en")
        page.wait_for_selector("form[data-enhanced=yes]")
        _fill(page)
        page.fill("#news_address", "=?utf-8?q?evil=40evil.example=3E=2C=3Cx?=@example.org")
        page.click("form[data-seal] button[type=submit]")
        page.wait_for_selector("#news_address-error >> text=This is not an e-mail address we can send to")
        assert page.input_value("#description") == "The next parameter is followed anywhere."
        assert posted == []  # no upload, no sealed post: found before the upload
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        assert Report.select().count() == 0
    assert _sealed_addresses() == []


def test_without_javascript_the_form_and_the_mailbox_keep_the_address(served, team_key):
    with chromium(java_script=False) as context:
        page = context.new_page()
        page.goto(served + "/report?lang=en")
        _fill(page)
        page.click("form button[type=submit]")
        words = page.inner_text(".passphrase")
        assert _sealed_addresses() == [ADDRESS]
        page.goto(served + "/replies")
        page.fill("#passphrase", words)
        page.click("button[type=submit]")
        page.wait_for_url("**/mailbox")
        assert "An address is kept for news" in page.inner_text("main")
        assert ADDRESS not in page.content()
        page.fill("#news_address", "changed-93b1@example.net")
        page.click("button[name=action][value=save]")
        assert "Your address is kept" in page.inner_text("main")
        page.click("button[name=action][value=remove]")
        assert "Your address is removed" in page.inner_text("main")
    assert _sealed_addresses() == []
    assert b"93b1" not in _report_body(team_key)
