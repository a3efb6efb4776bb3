"""The portal in a real browser (Debian's Chromium through Playwright), JavaScript on and off."""

import hashlib
import json
import os

import pytest

from crypto import open_bytes

from .browser import chromium, live_server
from .conftest import VECTORS

pytestmark = pytest.mark.browser

MARKER = "MARKER-TEXT-7f3a9c"
FILE_MARKER = b"FILE-MARKER-51c2e8 "


@pytest.fixture
def served(make_portal):
    with live_server(make_portal()) as base:
        yield base


def _stored(team_key):
    from app.domain.blobs import BlobReader
    from app.domain.db import database
    from app.domain.models import Item

    with database.connection_context():
        return [
            (item, *open_bytes(BlobReader(item).read(), team_key))
            for item in Item.select().where(Item.report.is_null(False)).order_by(Item.position, Item.id)
        ]


def _fill_report(page, files):
    page.check("#accept_policy")
    page.fill("#title", "Heap overflow in the image parser")
    page.fill("#system", "viewer.example.nl")
    page.fill("#description", f"Details: {MARKER}")
    page.set_input_files("#attachments", files)


def test_javascript_encrypts_before_anything_leaves_the_browser(served, team_key, tmp_path):
    poc = tmp_path / "poc.bin"
    poc.write_bytes(FILE_MARKER * 3000)
    bodies = []
    with chromium() as context:
        page = context.new_page()
        page.on("request", lambda request: bodies.append(request.post_data_buffer or b""))
        page.goto(served + "/report")
        page.wait_for_selector("form[data-enhanced=yes]")
        _fill_report(page, [str(poc)])
        page.click("button[type=submit]")
        page.wait_for_selector(".passphrase", timeout=30_000)
        assert len(page.inner_text(".passphrase").split()) == 7
    sent = b"".join(bodies)
    assert len(sent) > poc.stat().st_size  # the uploads did pass through here
    assert MARKER.encode() not in sent
    assert FILE_MARKER not in sent
    assert b"Heap overflow" not in sent
    stored = _stored(team_key)
    assert [item.kind for item, _, _ in stored] == ["report", "attachment"]
    fields = json.loads(stored[0][2])
    assert fields["description"] == f"Details: {MARKER}"
    assert fields["exploited"] == "unknown"
    assert stored[1][1].name == "poc.bin"
    assert stored[1][2] == poc.read_bytes()


def test_javascript_off_journey(served, team_key, tmp_path):
    poc = tmp_path / "poc.txt"
    poc.write_bytes(b"server-side sealing works")
    with chromium(java_script=False) as context:
        page = context.new_page()
        page.goto(served + "/report")
        _fill_report(page, [str(poc)])
        page.click("button[type=submit]")
        words = page.inner_text(".passphrase")
        page.goto(served + "/replies")
        page.fill("#passphrase", words.upper())
        page.click("button[type=submit]")
        page.wait_for_url("**/mailbox")
        page.fill("#message", "A follow-up, without JavaScript")
        page.click("form[data-seal] button[type=submit]")
        assert "A follow-up, without JavaScript" in page.inner_text("main")
    kinds = [(item.kind, body) for item, _, body in _stored(team_key)]
    assert kinds[:2] == [("report", kinds[0][1]), ("attachment", b"server-side sealing works")]
    assert ("message", b"A follow-up, without JavaScript") in kinds


def _report_and_open_mailbox(page, served):
    page.goto(served + "/report")
    page.wait_for_selector("form[data-enhanced=yes]")
    _fill_report(page, [])
    page.click("button[type=submit]")
    words = page.inner_text(".passphrase", timeout=30_000)
    page.goto(served + "/replies")
    page.fill("#passphrase", words)
    page.click("button[type=submit]")
    page.wait_for_selector("form[data-enhanced=yes]")


def test_follow_up_with_javascript(served, team_key, tmp_path):
    with chromium() as context:
        page = context.new_page()
        _report_and_open_mailbox(page, served)
        page.fill("#message", f"Sealed in the browser {MARKER}")
        page.click("form[data-seal] button[type=submit]")
        page.wait_for_selector(f"text=Sealed in the browser {MARKER}", timeout=30_000)
    messages = [body for item, _, body in _stored(team_key) if item.kind == "message"]
    assert messages == [f"Sealed in the browser {MARKER}".encode()]


def _send_report_through(context, served, route_uploads, attachment):
    """Start sending a report with `attachment`, every upload request passing `route_uploads`."""
    page = context.new_page()
    page.route("**/uploads/**", route_uploads)
    page.goto(served + "/report")
    page.wait_for_selector("form[data-enhanced=yes]")
    _fill_report(page, [str(attachment)])
    page.click("button[type=submit]")
    return page


def test_large_attachment_resumes_after_a_dropped_part(served, team_key, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(50 * 1024 * 1024))
    dropped = []

    def drop_once(route):
        if route.request.method == "PUT" and route.request.url.endswith("/3") and not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    with chromium() as context:
        page = _send_report_through(context, served, drop_once, big)
        page.wait_for_selector(".passphrase", timeout=120_000)
        # The progress bar is gone with the form once the passphrase shows; its last value is kept.
        assert page.evaluate("() => globalThis.Meldpunt.progress") == 100
    assert dropped, "the test did not cut the upload"
    attachment = [(meta, body) for item, meta, body in _stored(team_key) if item.kind == "attachment"]
    assert attachment[0][0].name == "big.bin"
    assert hashlib.sha256(attachment[0][1]).digest() == hashlib.sha256(big.read_bytes()).digest()


def test_browser_opens_pynacl_reference_vectors(served):
    sealed = []
    for line in (VECTORS / "pynacl" / "sealed_box_ref.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            secret, public, plain, box = line.split("\t")
            sealed.append([secret, public, plain.split(":")[1], box.split(":")[1]])
    streams = json.loads((VECTORS / "pynacl" / "secretstream-test-vectors.json").read_text())
    with chromium() as context:
        page = context.new_page()
        page.goto(served + "/report")
        page.wait_for_selector("form[data-enhanced=yes]")
        results = page.evaluate(
            """([sealed, streams]) => {
                const s = globalThis.Meldpunt.sodium;
                const hex = (h) => s.from_hex(h);
                const boxes = sealed.map(([sk, pk, plain, box]) =>
                    s.to_hex(s.crypto_box_seal_open(hex(box), hex(pk), hex(sk))) === plain);
                const chunks = streams.map((v) => {
                    const state = s.crypto_secretstream_xchacha20poly1305_init_pull(hex(v.header), hex(v.key));
                    return v.chunks.every((c) => {
                        const out = s.crypto_secretstream_xchacha20poly1305_pull(
                            state, hex(c.ciphertext), c.ad === null ? null : hex(c.ad));
                        return out && s.to_hex(out.message) === c.message && out.tag === c.tag;
                    });
                });
                return {boxes, chunks};
            }""",
            [sealed, streams],
        )
    assert results["boxes"] == [True] * len(sealed)
    assert results["chunks"] == [True] * len(streams)


def test_browser_envelopes_open_in_python(served, team_key, other_key):
    """Sizes around the chunk edges, several recipients: whatever the browser writes, PyNaCl opens."""
    from crypto import sealed_length

    sizes = [0, 1, 65535, 65536, 65537, 200_000]
    with chromium() as context:
        page = context.new_page()
        page.goto(served + "/report")
        page.wait_for_selector("form[data-enhanced=yes]")
        envelopes = page.evaluate(
            """([sizes, keys]) => {
                const {sodium, envelope} = globalThis.Meldpunt;
                const recipients = keys.map((k) => sodium.from_hex(k));
                return sizes.map((n) => {
                    const body = new Uint8Array(n).map((_, i) => i % 251);
                    const meta = {kind: "attachment", name: `f${n}.bin`, type: "application/octet-stream",
                                  day: "2026-11-28"};
                    const sealed = envelope.sealBytes(recipients, meta, body);
                    const expected = envelope.sealedLength(envelope.metaBytes(meta).length, n, recipients.length);
                    return [sodium.to_hex(sealed), expected];
                });
            }""",
            [sizes, [team_key.public.raw.hex(), other_key.public.raw.hex()]],
        )
    for size, (sealed_hex, expected) in zip(sizes, envelopes, strict=True):
        data = bytes.fromhex(sealed_hex)
        assert len(data) == expected
        for key in (team_key, other_key):
            meta, body = open_bytes(data, key)
            assert body == bytes(i % 251 for i in range(size))
            assert meta.name == f"f{size}.bin"
        assert len(data) == sealed_length(len(meta.encode()) + size, 2)


@pytest.mark.parametrize("path", ["/", "/policy", "/report", "/replies", "/key", "/missing"])
def test_no_console_errors_or_csp_violations(served, path):
    problems = []
    with chromium() as context:
        page = context.new_page()
        page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(served + path)
        if path == "/report":
            page.wait_for_selector("form[data-enhanced=yes]")
        page.wait_for_load_state("networkidle")
    if path == "/missing":
        problems = [p for p in problems if "404" not in p]  # the page itself answers 404, as it should
    assert problems == []


def test_cancel_stops_the_upload_and_nothing_becomes_a_report(served, team_key, tmp_path):
    import time

    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 1024 * 1024))

    def slow(route):
        time.sleep(0.5)  # a slow Tor circuit
        route.continue_()

    with chromium() as context:
        page = _send_report_through(context, served, slow, big)
        page.wait_for_selector("[data-cancel]:not([hidden])")
        page.wait_for_selector("[data-progress][data-percent]", state="attached")  # a part is stored
        page.click("[data-cancel]")
        page.wait_for_selector("text=Cancelled. Nothing was sent as a report")
        assert page.input_value("#description") == f"Details: {MARKER}"  # the form is intact
    assert _stored(team_key) == []


def test_mailbox_page_has_no_console_errors(served):
    problems = []
    with chromium() as context:
        page = context.new_page()
        page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        _report_and_open_mailbox(page, served)
        page.wait_for_load_state("networkidle")
    assert problems == []


def _team_sign_in_in_browser(page, base, token, name="root"):
    import re
    import time

    import pyotp

    from .team_helpers import PASSWORD

    page.goto(f"{base}/team/enrol/{token}")
    page.fill("#password", PASSWORD)
    page.fill("#again", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("img[alt]")  # the QR code, an SVG from us
    secret = re.search(r"[A-Z2-7]{16,}", page.inner_text("code.key")).group(0)
    totp = pyotp.TOTP(secret)
    page.fill("#code", totp.now())
    page.click("button[type=submit]")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.fill("#code", totp.at(time.time() + 30))
    page.click("button[type=submit]")
    page.wait_for_url("**/team/")


def _reported_portal(make_portal):
    from app.domain.accounts import create
    from app.domain.db import database
    from app.domain.models import Report

    from .portal_helpers import passphrase_from, submit_report

    portal = make_portal()
    passphrase = passphrase_from(submit_report(portal.test_client(), files=[]).data)
    with portal.app_context(), database.connection_context():
        _, token = create("root", "admin")
        reference = Report.get().reference
    return portal, passphrase, token, reference


def test_team_pages_in_chromium_without_csp_violations(make_portal):
    portal, _passphrase, token, reference = _reported_portal(make_portal)
    problems = []
    with live_server(portal) as base, chromium() as context:
        page = context.new_page()
        page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        _team_sign_in_in_browser(page, base, token)
        for path in ("/team/", "/team/?show=overdue", f"/team/reports/{reference}", "/team/users", "/hall-of-fame"):
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            assert "403" not in page.title()
    assert problems == []


def test_reply_typed_in_the_workspace_is_sealed_in_the_browser(make_portal, team_key):
    from .portal_helpers import sign_in

    portal, passphrase, token, reference = _reported_portal(make_portal)
    bodies = []
    with live_server(portal) as base, chromium() as context:
        page = context.new_page()
        _team_sign_in_in_browser(page, base, token)
        page.on("request", lambda request: bodies.append(request.post_data_buffer or b""))
        page.goto(f"{base}/team/reports/{reference}")
        page.wait_for_selector("form[data-enhanced=yes]")
        page.fill("#message", f"Fixed, thank you {MARKER}")
        page.click("form[data-seal] button[type=submit]")
        page.wait_for_selector("text=The reply is sealed to the reporter and the team.", timeout=30_000)
    assert MARKER.encode() not in b"".join(bodies)
    reporter = portal.test_client()
    sign_in(reporter, passphrase)
    assert f"Fixed, thank you {MARKER}" in reporter.get("/mailbox").data.decode()


def test_two_clicks_send_one_report(make_portal, team_key, tmp_path):
    """Clicking "Encrypt and send" again while it sends (impatient, or a slow circuit) must not
    upload everything twice and store a second report the reporter has no passphrase for. (Without
    the anti-spam work, which an instance may switch off, nothing else on the server stops it.)"""
    import time

    poc = tmp_path / "poc.bin"
    poc.write_bytes(os.urandom(9 * 1024 * 1024))

    def slow(route):
        time.sleep(0.3)
        route.continue_()

    with live_server(make_portal(MELDPUNT_POW_BITS=0)) as served, chromium() as context:
        page = _send_report_through(context, served, slow, poc)
        page.wait_for_timeout(300)
        disabled = page.is_disabled("form[data-seal] button[type=submit]")
        page.click("form[data-seal] button[type=submit]", force=True)  # the second click
        page.wait_for_selector(".passphrase", timeout=60_000)
        page.wait_for_timeout(3000)  # time enough for a second sending to finish, were there one
    assert [item.kind for item, _, _ in _stored(team_key)] == ["report", "attachment"]
    assert disabled
