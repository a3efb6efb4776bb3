"""Headers, cookies, CSRF, limits, sizes, the honeypot and sessions."""

import io
import time

import pytest

from .conftest import csrf_token, upload_address
from .portal_helpers import REPORT, passphrase_from, sign_in, submit_report

PAGES = ["/", "/policy", "/report", "/replies", "/key", "/.well-known/security.txt", "/robots.txt", "/nope"]


@pytest.mark.parametrize("path", PAGES)
def test_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "form-action 'self'" in csp
    assert "base-uri 'none'" in csp
    assert "unsafe-inline" not in csp
    assert " 'unsafe-eval'" not in csp
    if path in ("/report", "/replies"):  # pages that encrypt or derive: a bundle and WebAssembly, nothing else
        assert "script-src 'self' 'wasm-unsafe-eval'" in csp
        assert "connect-src 'self'" in csp
        assert "worker-src 'none'" in csp
    else:
        assert "script-src" not in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Onion-Location" not in response.headers


def test_pages_load_nothing_from_elsewhere(client):
    import re

    for path in PAGES[:5]:
        html = client.get(path).data.decode()
        assert "http://" not in html.replace("http://localhost", "")
        assert "https://" not in html
        assert " style=" not in html
        scripts = re.findall(r"<script[^>]*>", html)
        if path in ("/report", "/replies"):  # one same-origin bundle with an integrity hash; never inline code
            assert len(scripts) == 1
            # Both make or derive the reporter's identity: the bundle with argon2id, instead of the other.
            assert 'src="/static/vendor/meldpunt-derive.js?v=' in scripts[0]
            assert 'integrity="sha384-' in scripts[0]
            assert "</script>" in html
            assert html.count("<script") == 1
        else:
            assert scripts == []


def test_onion_location(make_portal):
    client = make_portal(MELDPUNT_ONION_ADDRESS="http://exampleonionaddress.onion").test_client()
    assert client.get("/policy?lang=en").headers["Onion-Location"] == "http://exampleonionaddress.onion/policy?lang=en"


def test_cookies_are_httponly_strict_and_secure(make_portal):
    client = make_portal(MELDPUNT_SECURE_COOKIES=True).test_client()
    language = client.get("/report?lang=nl", base_url="https://localhost").headers.getlist("Set-Cookie")
    assert len(language) == 1  # the report form gives no session (app/web/anonymous.py)
    response = client.get("/replies", base_url="https://localhost")
    session = response.headers.getlist("Set-Cookie")
    cookies = [*language, *session]
    assert len(cookies) == 2  # the language, and the encrypted session with the sign-in form's token
    for cookie in cookies:
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert "Secure" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_session_cookie_is_encrypted_and_tamper_proof(client):
    passphrase = passphrase_from(submit_report(client, files=[]).data)
    sign_in(client, passphrase)
    cookie = client.get_cookie("mp_session")
    assert "mailbox" not in cookie.value
    assert "reporter_key" not in cookie.value
    import base64

    assert b"mailbox" not in base64.urlsafe_b64decode(cookie.value)
    client.set_cookie("mp_session", cookie.value[:-6] + "AAAAAA")
    assert client.get("/mailbox").status_code == 302  # a changed cookie is no session at all


def test_idle_session_expires(client, monkeypatch):
    sign_in(client, passphrase_from(submit_report(client, files=[]).data))
    assert client.get("/mailbox").status_code == 200
    later = time.time() + 16 * 60
    monkeypatch.setattr("app.web.sessions.time.time", lambda: later)
    assert client.get("/mailbox").status_code == 302


def test_report_without_csrf_token_stores_nothing_but_keeps_the_text(portal, client):
    """The reproduction: a multipart POST without token, cookie or proof of work was stored before
    the CSRF check. Now nothing of it reaches the database; the text comes back in the form."""
    data = {**REPORT, "attachments": [(io.BytesIO(b"x"), "x.txt")]}
    response = client.post("/report", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    page = response.data.decode()
    assert "The form had expired" in page
    assert REPORT["description"] in page
    assert "Attach them again" in page
    from app.domain.db import database
    from app.domain.models import Chunk, Item, Report

    with database.connection_context():
        assert Report.select().count() == 0
        assert Item.select().count() == 0
        assert Chunk.select().count() == 0


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/replies", data={"passphrase": "abacus " * 7})
    assert response.status_code == 400


def test_wrong_passphrase_gets_a_translated_error(client):
    english = sign_in(client, "abacus zoom abacus zoom abacus zoom abacus")
    assert english.status_code == 400
    assert "No mailbox opens with this passphrase" in english.data.decode()
    client.get("/?lang=nl")
    dutch = sign_in(client, "abacus zoom abacus zoom abacus zoom")
    assert dutch.status_code == 400
    assert "zeven woorden" in dutch.data.decode()
    typo = sign_in(client, "abacus zoom abacus zooom abacus zoom abacus")
    assert "Woord 4" in typo.data.decode()


def test_submissions_are_limited_globally(make_portal):
    client = make_portal(MELDPUNT_LIMIT_SUBMIT="2 per hour").test_client()
    statuses = [
        submit_report(client, files=[], environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code for n in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert "wait" in client.get("/").data.decode() or True
    page = submit_report(client, files=[]).data.decode()
    assert "Too many requests" in page


def test_logins_are_limited_per_address(make_portal):
    client = make_portal(MELDPUNT_LIMIT_LOGIN_PER_ADDRESS="2 per minute").test_client()
    statuses = [sign_in(client, "abacus " * 7).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_oversized_upload_is_refused_with_a_page_and_nothing_kept(make_portal):
    portal = make_portal(MELDPUNT_MAX_UPLOAD_BYTES=100_000)
    client = portal.test_client()
    response = submit_report(client, files=[("big.bin", bytes(60_000)), ("bigger.bin", bytes(60_000))])
    assert response.status_code == 413
    assert "larger than this portal accepts" in response.data.decode()
    from app.domain.db import database
    from app.domain.models import Chunk, Item

    with database.connection_context():
        assert Item.select().count() == 0
        assert Chunk.select().count() == 0


def test_oversized_declared_length_is_refused(make_portal):
    client = make_portal(MELDPUNT_MAX_UPLOAD_BYTES=100_000).test_client()
    page = client.get("/report")
    data = {"csrf_token": csrf_token(page.data), **REPORT, "attachments": [(io.BytesIO(bytes(400_000)), "a.bin")]}
    response = client.post(upload_address(page.data), data=data, content_type="multipart/form-data")
    assert response.status_code == 413


def test_too_much_text_is_refused_with_the_text_kept(make_portal):
    client = make_portal(MELDPUNT_MAX_TEXT_CHARS=1000).test_client()
    response = submit_report(client, fields={**REPORT, "description": "x" * 1200}, files=[])
    assert response.status_code == 400
    assert "the limit is 1000" in response.data.decode()


def test_honeypot_discards_without_telling(portal, client):
    response = submit_report(client, fields={**REPORT, "website": "http://spam.example"})
    assert response.status_code == 200
    assert len(passphrase_from(response.data).split()) == 7
    from app.domain.db import database
    from app.domain.models import Item, Mailbox, Report

    with database.connection_context():
        assert Report.select().count() == 0
        assert Item.select().count() == 0
        assert Mailbox.select().count() == 0


def test_files_are_refused_where_none_are_expected(client):
    page = client.get("/replies")
    data = {"csrf_token": csrf_token(page.data), "passphrase": "x", "f": (io.BytesIO(b"secret"), "f.txt")}
    response = client.post("/replies", data=data, content_type="multipart/form-data")
    assert response.status_code == 400


def test_passphrase_page_is_never_cached(client):
    response = submit_report(client, files=[])
    assert response.headers["Cache-Control"] == "no-store"


def test_concurrent_derivations_are_capped(make_portal, monkeypatch):
    """With every argon2id slot taken, a sign-in waits briefly and then gets 503, not more memory."""
    portal = make_portal(MELDPUNT_DERIVATIONS_AT_ONCE=1)
    client = portal.test_client()
    from app.web.context import EXTENSION

    limit = portal.extensions[EXTENSION].derivations
    monkeypatch.setattr(limit, "_wait", 0.1)
    assert limit._slots.acquire(timeout=1)
    try:
        busy = sign_in(client, "abacus zoom abacus zoom abacus zoom abacus")
        assert busy.status_code == 503
        assert "The portal is busy" in busy.data.decode()
        assert busy.headers["Retry-After"] == "60"
    finally:
        limit._slots.release()
    assert sign_in(client, "abacus zoom abacus zoom abacus zoom abacus").status_code == 400


def test_without_the_browser_bundle_pages_fall_back_to_the_server_path(portal):
    portal.config["SCRIPT_INTEGRITY"] = None  # what a machine without npm gets
    portal.config["DERIVE_SCRIPT_INTEGRITY"] = None
    page = portal.test_client().get("/report").data.decode()
    assert "<script" not in page
    assert 'enctype="multipart/form-data"' in page


def test_a_deriving_page_never_falls_back_to_the_small_bundle(portal):
    """Without the derive bundle the report form and sign-in load no script at all: meldpunt.js
    cannot make a reporter identity, and a report sealed to the team alone would be refused."""
    if not portal.config["SCRIPT_INTEGRITY"]:
        pytest.skip("no bundle built (npm missing)")
    portal.config["DERIVE_SCRIPT_INTEGRITY"] = None
    client = portal.test_client()
    for path in ("/report", "/replies"):
        assert "<script" not in client.get(path).data.decode()


def test_an_upload_cut_off_midway_leaves_no_writer_thread_behind(make_portal):
    import threading

    portal = make_portal(MELDPUNT_MAX_UPLOAD_BYTES=3 * 1024 * 1024)
    client = portal.test_client()
    # Within the declared limit, so the parser starts storing, then over the budget mid-way.
    response = submit_report(client, files=[("big.bin", bytes(3 * 1024 * 1024 + 512 * 1024))])
    assert response.status_code == 413
    writers = [
        t
        for t in threading.enumerate()
        if getattr(t, "_target", None).__class__.__name__ == "method" and t._target.__name__ == "_write_rows"
    ]
    assert writers == []


def test_tampered_form_values_get_translated_errors(client):
    from .portal_helpers import REPORT

    client.get("/?lang=nl")
    response = submit_report(client, fields={**REPORT, "exploited": "perhaps", "title": "x" * 301}, files=[])
    page = response.data.decode()
    assert response.status_code == 400
    assert "Kies een van de mogelijkheden." in page
    assert "Dit is te lang." in page
    assert "Not a valid choice" not in page


@pytest.mark.parametrize(
    ("bundle", "prefix"), [("vendor/meldpunt.js", "SCRIPT"), ("vendor/meldpunt-derive.js", "DERIVE_SCRIPT")]
)
def test_the_bundle_is_served_precompressed_with_the_same_integrity_and_cached_for_good(portal, bundle, prefix):
    """Issue 12, point 4: the 485 KiB bundle was sent uncompressed, with no caching. It now comes
    as brotli or gzip when the browser takes it, the same bytes once decoded (the SRI hash holds),
    and at its versioned address it may be kept forever. Both bundles (issue 14) alike."""
    import base64
    import gzip
    import hashlib
    import re

    import brotli

    if not portal.config[f"{prefix}_INTEGRITY"]:
        pytest.skip("no bundle built (npm missing)")
    client = portal.test_client()
    address = f"/static/{bundle}?v={portal.config[f'{prefix}_VERSION']}"
    if bundle.endswith("derive.js"):  # the address the report form links, exactly
        assert address == re.search(r'src="([^"]+)"', client.get("/report").data.decode()).group(1)
    plain = client.get(address, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    decoders = {"br": brotli.decompress, "gzip": gzip.decompress}
    sizes = {}
    for accepted, expected in (("gzip, deflate, br, zstd", "br"), ("gzip", "gzip")):
        answer = client.get(address, headers={"Accept-Encoding": accepted})
        assert answer.headers["Content-Encoding"] == expected
        assert answer.headers["Content-Type"].startswith("text/javascript")
        assert "Accept-Encoding" in answer.headers["Vary"]
        assert decoders[expected](answer.data) == plain.data
        sizes[expected] = len(answer.data)
    assert sizes["br"] < sizes["gzip"] < len(plain.data) / 2
    digest = "sha384-" + base64.b64encode(hashlib.sha384(plain.data).digest()).decode()
    assert digest == portal.config[f"{prefix}_INTEGRITY"]
    assert sorted(plain.headers["Cache-Control"].split(", ")) == ["immutable", "max-age=31536000", "public"]
    unversioned = client.get(f"/static/{bundle}")
    assert "immutable" not in unversioned.headers.get("Cache-Control", "")
    # Another bundle's version is not this one's: no caching for good under it.
    other = "DERIVE_SCRIPT" if prefix == "SCRIPT" else "SCRIPT"
    crossed = client.get(f"/static/{bundle}?v={portal.config[f'{other}_VERSION']}")
    assert "immutable" not in crossed.headers.get("Cache-Control", "")
    # Copies of another bundle are not sent: they would fail the integrity check for a year.
    portal.config["BUNDLE_COPIES"] = frozenset()
    answer = client.get(address, headers={"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in answer.headers
    assert answer.data == plain.data


@pytest.mark.parametrize("name", ["vendor/meldpunt.js", "vendor/meldpunt-derive.js"])
def test_compressed_copies_count_only_for_the_bundle_they_were_made_from(tmp_path, name):
    import gzip
    import hashlib

    from app.domain.bundle import BUNDLES, copies_current

    assert name in BUNDLES
    bundle = tmp_path / name
    bundle.parent.mkdir()
    bundle.write_bytes(b"new bundle")
    assert not copies_current(tmp_path, name)  # no copies at all
    for suffix in (".gz", ".br"):
        bundle.with_name(bundle.name + suffix).write_bytes(gzip.compress(b"old bundle"))
    bundle.with_name(bundle.name + ".sha256").write_text(hashlib.sha256(b"old bundle").hexdigest() + "\n")
    assert not copies_current(tmp_path, name)  # made from the bundle before
    bundle.with_name(bundle.name + ".sha256").write_text(hashlib.sha256(b"new bundle").hexdigest() + "\n")
    assert copies_current(tmp_path, name)
