"""The reporter's identity made in the browser, end to end in Chromium (issue 14): a report sent
with JavaScript gets its passphrase from the page; signing in with JavaScript opens the mailbox in
the browser (the report, its attachment, a team reply, a follow-up); the same words open the same
mailbox with JavaScript off, where the server derives; and a report sent without JavaScript opens
with JavaScript on. The two paths are one mailbox."""

import time

import pytest

from .browser import chromium, live_server

pytestmark = pytest.mark.browser

TITLE = "Path traversal in the export endpoint"
DESCRIPTION = "GET /export?file=../../etc/passwd returns the file."
ATTACHMENT = bytes(range(256)) * 40 + b"attached proof"
REPLY = "Thanks, we reproduced it and are working on a fix."
FOLLOW_UP = "The same works on the staging host too."
LARGE = bytes(range(251)) * 24_000  # about 5.7 MiB: over what the mailbox opens with the page


@pytest.fixture
def served(make_portal):
    portal = make_portal()
    with live_server(portal) as base:
        yield portal, base


def _team_reply(portal, text: str = REPLY) -> None:
    from app.domain.db import database
    from app.domain.models import Report
    from app.domain.reports import adopt_reply, sealed_reply
    from app.web.context import EXTENSION

    with portal.app_context(), database.connection_context():
        report = Report.get()
        with sealed_reply(portal.extensions[EXTENSION], report, text) as reply, database.atomic():
            adopt_reply(report, reply)


def _fill_report(page, files) -> None:
    page.check("#accept_policy")
    page.fill("#title", TITLE)
    page.fill("#system", "files.example.nl")
    page.fill("#description", DESCRIPTION)
    page.check("#exploited-1")  # "No"
    if files:
        page.set_input_files("#attachments", files)


def _sign_in_with_javascript(page, base, words: str) -> None:
    page.goto(base + "/replies")
    page.wait_for_selector("form[data-derive=login][data-enhanced=yes]")
    page.fill("#passphrase", words)
    page.click("button[type=submit]")
    page.wait_for_url("**/mailbox", timeout=60_000)


def _download(page, selector: str) -> tuple[str, bytes]:
    with page.expect_download() as caught:
        page.click(selector)
    download = caught.value
    with open(download.path(), "rb") as file:
        return download.suggested_filename, file.read()


def test_a_javascript_report_opens_on_both_paths(served, tmp_path):
    portal, base = served
    proof = tmp_path / "proof.bin"
    proof.write_bytes(ATTACHMENT)
    with chromium() as context:
        page = context.new_page()
        page.goto(base + "/report")
        page.wait_for_selector("form[data-enhanced=yes]")
        _fill_report(page, [str(proof)])
        page.evaluate(
            """() => {
                window.statuses = [];
                const status = document.querySelector("[data-seal-status]");
                new MutationObserver(() => window.statuses.push(status.textContent))
                    .observe(status, {childList: true, characterData: true, subtree: true});
            }"""
        )
        page.click("button[type=submit]")
        page.wait_for_selector("[data-passphrase] span", timeout=60_000)
        # Said before the page blocks for the derivation, then the sending.
        statuses = page.evaluate("window.statuses")
        assert statuses[0] == "Preparing your passphrase in your browser…"
        assert "Encrypting in your browser and sending…" in statuses
        spans = page.locator("[data-passphrase] span").all_inner_texts()
        assert len(spans) == 7
        assert all(word.isalpha() and word.islower() for word in spans)
        words = " ".join(spans)
        assert page.evaluate("document.activeElement.id") == "passphrase-heading"

        _sign_in_with_javascript(page, base, words.upper().replace(" ", "-"))
        page.wait_for_selector(f"text={DESCRIPTION}", timeout=30_000)
        report = page.inner_text("[data-sealed-item][data-kind=report]")
        for shown in (TITLE, "files.example.nl", "Is this being actively exploited?", "No"):
            assert shown in report
        # The attachment: opened in the browser, downloaded from a Blob with its own name.
        link = "[data-sealed-attachment] a[download]"
        page.wait_for_selector(link)
        assert page.get_attribute(link, "href").startswith("blob:")
        assert _download(page, link) == ("proof.bin", ATTACHMENT)

        _team_reply(portal)
        page.reload()
        page.wait_for_selector(f"text={REPLY}", timeout=30_000)
        page.fill("#message", FOLLOW_UP)
        large = tmp_path / "capture.pcap"
        large.write_bytes(LARGE)
        page.set_input_files("#attachments", [str(large)])
        page.click("form[data-seal] button[type=submit]")
        page.wait_for_selector(f"text={FOLLOW_UP}", timeout=30_000)
        kinds = page.eval_on_selector_all("[data-sealed-item]", "items => items.map((i) => i.dataset.kind)")
        assert kinds == ["report", "reply", "message"]
        # A large attachment is opened only when asked for, then downloaded at once.
        page.wait_for_selector("[data-sealed-thread][data-opened=yes]")
        assert _download(page, "[data-sealed-item][data-kind=message] [data-sealed-attachment] button") == (
            "capture.pcap",
            LARGE,
        )

        # Signing out takes the key out of the tab.
        assert page.evaluate("sessionStorage.getItem('meldpunt-reporter-key')")
        page.click("form[action$='/logout'] button")
        page.wait_for_load_state()
        assert page.evaluate("sessionStorage.getItem('meldpunt-reporter-key')") is None

    with chromium(java_script=False) as context:
        page = context.new_page()
        page.goto(base + "/replies")
        page.fill("#passphrase", words)
        page.click("button[type=submit]")
        page.wait_for_url("**/mailbox")
        main = page.inner_text("main")
        for text in (TITLE, DESCRIPTION, REPLY, FOLLOW_UP):
            assert text in main
        assert "Decrypting in your browser" not in main
        assert _download(page, "ul.files a") == ("proof.bin", ATTACHMENT)


def test_a_report_sent_without_javascript_opens_with_javascript(served, tmp_path):
    portal, base = served
    proof = tmp_path / "server.txt"
    proof.write_bytes(b"sealed on the server, to the team only")
    with chromium(java_script=False) as context:
        page = context.new_page()
        page.goto(base + "/report")
        _fill_report(page, [str(proof)])
        page.click("button[type=submit]")
        words = page.inner_text(".passphrase")
    _team_reply(portal)
    with chromium() as context:
        page = context.new_page()
        _sign_in_with_javascript(page, base, words)
        page.wait_for_selector(f"text={DESCRIPTION}", timeout=30_000)
        page.wait_for_selector(f"text={REPLY}", timeout=30_000)
        assert TITLE in page.inner_text("[data-sealed-item][data-kind=report]")
        # Its attachment streamed in before the passphrase existed: sealed to the team alone.
        page.wait_for_selector("[data-sealed-attachment]:has-text('sealed to the security team only')")


def _report_and_sign_in(page, base) -> None:
    page.goto(base + "/report")
    page.wait_for_selector("form[data-enhanced=yes]")
    _fill_report(page, [])
    page.click("button[type=submit]")
    page.wait_for_selector("[data-passphrase] span", timeout=60_000)
    _sign_in_with_javascript(page, base, page.inner_text("[data-passphrase]"))
    page.wait_for_selector(f"text={DESCRIPTION}", timeout=30_000)


def test_a_mailbox_without_the_key_in_this_tab_asks_to_sign_in_again(served):
    portal, base = served
    with chromium() as context:
        page = context.new_page()
        _report_and_sign_in(page, base)
        # Another key in the tab (another mailbox's): nothing opens, the page says what to do.
        page.evaluate("sessionStorage.setItem('meldpunt-reporter-key', '11'.repeat(32))")
        page.reload()
        page.wait_for_selector("[data-sign-in-again] a[href$='/replies']")
        assert DESCRIPTION not in page.inner_text("main")
        page.evaluate("sessionStorage.clear()")
        page.reload()
        page.wait_for_selector("text=Sign in again to read your messages in this browser.")


def test_a_session_the_server_ended_leaves_no_key_in_the_tab(served):
    """Idle or past its 4 hours, the server ends the session and the mailbox sends the reporter to
    the sign-in page: the key goes there, not only when the tab closes."""
    portal, base = served
    with chromium() as context:
        page = context.new_page()
        _report_and_sign_in(page, base)
        assert page.evaluate("sessionStorage.getItem('meldpunt-reporter-key')")
        context.clear_cookies()  # as good as the server ending the session
        page.goto(base + "/mailbox")
        page.wait_for_url("**/replies")
        page.wait_for_selector("form[data-enhanced=yes]")
        assert page.evaluate("sessionStorage.getItem('meldpunt-reporter-key')") is None


def test_closing_the_mailbox_forgets_the_key_in_this_tab(served):
    portal, base = served
    with chromium() as context:
        page = context.new_page()
        _report_and_sign_in(page, base)
        page.goto(base + "/mailbox/close")
        assert page.evaluate("sessionStorage.getItem('meldpunt-reporter-key')")
        page.check("#confirm")
        page.click("form[action$='/mailbox/close'] button[type=submit]")
        page.wait_for_url(base + "/")
        assert page.evaluate("sessionStorage.getItem('meldpunt-reporter-key')") is None


def test_sign_in_checks_the_words_in_the_browser_and_never_posts_them(served):
    portal, base = served
    posted = []
    with chromium() as context:
        page = context.new_page()
        page.on("request", lambda request: request.method == "POST" and posted.append(request.post_data or ""))
        page.goto(base + "/replies")
        page.wait_for_selector("form[data-derive=login][data-enhanced=yes]")
        page.fill("#passphrase", "abacus zoom abacus")
        page.click("button[type=submit]")
        page.wait_for_selector("text=A passphrase has seven words; you typed 3.")
        page.fill("#passphrase", "abacus zoom abacus zoom abacus zoomx abacusx")
        page.click("button[type=submit]")
        page.wait_for_selector("text=Word 6, 7 is not one of the passphrase words. Check the spelling.")
        assert posted == []  # checked here: nothing was sent
        assert page.get_attribute("#passphrase", "aria-invalid") == "true"
        # Seven real words that open no mailbox: the server's answer, on the field.
        page.fill("#passphrase", "abacus zoom abacus zoom abacus zoom abacus")
        page.click("button[type=submit]")
        page.wait_for_selector("text=No mailbox opens with this passphrase.", timeout=30_000)
    assert len(posted) == 1
    assert "token=" in posted[0]
    for secret in ("passphrase", "abacus"):
        assert secret not in posted[0]


def test_the_derivation_in_chromium_matches_python_and_is_timed(served):
    """The same identity as crypto.passphrase.derive, and how long argon2id takes in this browser
    (printed with -s; bench/browser_bench.py measures it against Python)."""
    from crypto import passphrase as passphrases

    portal, base = served
    salt = bytes(range(16))
    words = "abacus zoom abacus zoom abacus zoom abacus"
    with chromium() as context:
        page = context.new_page()
        page.goto(base + "/replies")
        page.wait_for_selector("form[data-enhanced=yes]")
        started = time.perf_counter()
        result = page.evaluate(
            """async ([words, salt]) => {
                const {identity, sodium} = globalThis.Meldpunt;
                const started = performance.now();
                const keys = await identity.derive(words, sodium.from_hex(salt));
                return {ms: performance.now() - started, token: sodium.to_hex(keys.lookupToken),
                        public: sodium.to_hex(keys.publicKey)};
            }""",
            [words, salt.hex()],
        )
        print(f"argon2id in Chromium: {result['ms']:.0f} ms ({time.perf_counter() - started:.2f} s round trip)")
    expected = passphrases.derive(passphrases.parse(words), salt)
    assert result["token"] == expected.lookup_token.hex()
    assert result["public"] == expected.key.public.raw.hex()
