"""Proof, in a real browser, that a JavaScript journey never gives the server the reporter's secrets.

Every request Chromium makes during a whole journey (a report with an attachment, the passphrase,
signing in, reading the report and a team reply, a follow-up) is recorded: its address, headers and
body, and every cookie the browser holds at the end. None may carry the passphrase in any
normalisation a reporter might type, the argon2id master secret or the reporter's X25519 secret key,
raw or written as hex or base64. The server's memory is not searched; instead the one server code
path that derives (`crypto.passphrase.derive`, behind `app.domain.reports.derive_identity`) is
counted, and must not run at all. The session cookie is opened with the server's key and holds no
reporter key on this path.
"""

import base64
import json
import urllib.parse

import pytest

from crypto import passphrase as passphrases
from crypto import secretbox, spec
from crypto.kdf import argon2id

from .browser import chromium, live_server

pytestmark = pytest.mark.browser

FILE_BYTES = b"proof-of-concept attachment " * 500
REPLY = "Thank you, we can reproduce it."
FOLLOW_UP = "One more detail, sealed in the browser."


@pytest.fixture
def counted(make_portal, monkeypatch):
    """The portal with every server-side derivation counted."""
    calls = []
    real = passphrases.derive

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(passphrases, "derive", counting)
    portal = make_portal()
    with live_server(portal) as base:
        yield portal, base, calls


def _encodings(secret: bytes) -> set[bytes]:
    """The forms a secret could travel in: raw, hex (either case), base64 and base64url, padded or not."""
    forms = {secret, secret.hex().encode(), secret.hex().upper().encode()}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(secret)
        forms |= {text, text.rstrip(b"=")}
    return forms


def _passphrase_forms(words: list[str]) -> set[bytes]:
    """The passphrase as it could be typed or encoded: joined by spaces, hyphens, nothing; lower,
    upper and title case; as UTF-8, then also URL-encoded (spaces as + and as %20)."""
    texts = set()
    for joiner in (" ", "-", "", "+", "_", "."):
        joined = joiner.join(words)
        texts |= {joined, joined.upper(), joiner.join(word.title() for word in words)}
    forms = set()
    for text in texts:
        raw = text.encode()
        forms |= {raw, urllib.parse.quote_plus(text).encode(), urllib.parse.quote(text).encode()}
        forms |= _encodings(raw)
    # A single word is not a secret; two in a row already are.
    forms |= {" ".join(words[i : i + 2]).encode() for i in range(len(words) - 1)}
    return forms


def _record(context, seen: list[tuple[str, bytes]]) -> None:
    def on_request(request) -> None:
        seen.append(("url", request.url.encode()))
        seen.append(("url (decoded)", urllib.parse.unquote_plus(request.url).encode()))
        for name, value in request.all_headers().items():
            seen.append((f"header {name}", value.encode()))
        body = request.post_data_buffer or b""
        seen.append(("body", body))
        try:
            seen.append(("body (decoded)", urllib.parse.unquote_plus(body.decode("latin-1")).encode("latin-1")))
        except UnicodeError:
            pass

    context.on("request", on_request)


def _team_reply(portal) -> None:
    from app.domain.db import database
    from app.domain.models import Report
    from app.domain.reports import adopt_reply, sealed_reply
    from app.web.context import EXTENSION

    with portal.app_context(), database.connection_context():
        report = Report.get()
        with sealed_reply(portal.extensions[EXTENSION], report, REPLY) as reply, database.atomic():
            adopt_reply(report, reply)


def _session(portal, context) -> dict:
    cookie = next(c for c in context.cookies() if c["name"] == "mp_session")
    key = secretbox.derive_key(portal.secret_key.encode(), b"meldpunt/v1/session-cookie")
    return json.loads(secretbox.decrypt(key, base64.urlsafe_b64decode(cookie["value"])))


def _installation_salt(portal) -> bytes:
    from app.domain.db import database
    from app.domain.reports import installation_salt

    with portal.app_context(), database.connection_context():
        return installation_salt()


def test_a_javascript_journey_gives_the_server_no_reporter_secret(counted, tmp_path):
    portal, base, derivations = counted
    attachment = tmp_path / "poc.bin"
    attachment.write_bytes(FILE_BYTES)
    seen: list[tuple[str, bytes]] = []
    with chromium() as context:
        _record(context, seen)
        page = context.new_page()
        page.goto(base + "/report")
        page.wait_for_selector("form[data-enhanced=yes]")
        page.check("#accept_policy")
        page.fill("#title", "Stored XSS in the comment field")
        page.fill("#system", "shop.example.nl")
        page.fill("#description", "The comment field renders HTML.")
        page.set_input_files("#attachments", [str(attachment)])
        page.click("button[type=submit]")
        page.wait_for_selector("[data-passphrase] span", timeout=60_000)
        words = page.inner_text("[data-passphrase]").split()
        assert len(words) == 7

        page.goto(base + "/replies")
        page.wait_for_selector("form[data-enhanced=yes]")
        # Typed the way people do: capitals and hyphens, which the browser normalises itself.
        page.fill("#passphrase", "-".join(word.capitalize() for word in words))
        page.click("button[type=submit]")
        page.wait_for_url("**/mailbox", timeout=60_000)
        page.wait_for_selector("text=The comment field renders HTML.", timeout=30_000)
        assert "Stored XSS in the comment field" in page.inner_text("main")
        session = _session(portal, context)

        _team_reply(portal)
        page.reload()
        page.wait_for_selector(f"text={REPLY}", timeout=30_000)
        page.fill("#message", FOLLOW_UP)
        page.click("form[data-seal] button[type=submit]")
        page.wait_for_selector(f"text={FOLLOW_UP}", timeout=30_000)
        cookies = context.cookies()

    assert derivations == [], "the server derived a reporter identity during a JavaScript journey"
    phrase, salt = passphrases.parse(" ".join(words)), _installation_salt(portal)
    master = argon2id(phrase.reveal().encode(), salt, spec.REPORTER_KDF)
    identity = passphrases.derive(phrase, salt)
    secrets = {
        "passphrase": _passphrase_forms(words),
        "master secret": _encodings(master),
        "secret key": _encodings(identity.key.secret_bytes()),
    }
    seen += [(f"cookie {c['name']}", c["value"].encode()) for c in cookies]
    seen.append(("session cookie (opened)", json.dumps(session).encode()))
    # The sealed attachment went up through the recorded requests: one body at least its size.
    assert max(len(data) for where, data in seen if where == "body") > len(FILE_BYTES)
    for where, data in seen:
        for name, forms in secrets.items():
            found = [form for form in forms if form and form in data]
            assert not found, f"the {name} left the browser in a request's {where}"
    assert "reporter_key" not in session
    assert identity.key.secret_bytes().hex() not in json.dumps(session)
