"""The reporter's identity on both paths (issue 14, server side): the database keeps the lookup
token's hash only; a browser that derived the identity signs in with the token and keeps its key;
the JavaScript-free path derives on the server; both open the same mailbox."""

import base64
import datetime
import html
import json
import re
import secrets

import pytest

from crypto import Meta, PrivateKey, open_bytes, primitives, report, seal_bytes, secretbox, spec
from crypto import passphrase as passphrases

from . import raw
from .conftest import csrf_token, instance_database
from .portal_helpers import REPORT, passphrase_from, sign_in, submit_report
from .test_sealed_uploads import put, sign_in_by_token, solve, start, stored_envelopes, submit, upload

COOKIE = "mp_session"
DAY = datetime.date(2026, 11, 28)
DERIVE = passphrases.derive  # what the browser computes, done here: not counted as the server's
FIELDS = {"title": "Browser-sealed title", "system": "intranet", "description": "MARKER-BROWSER-DESCRIPTION"}


# --- crypto ------------------------------------------------------------------------------------


def test_the_lookup_hash_is_a_keyed_hash_of_the_token():
    token = bytes(range(32))
    assert passphrases.lookup_hash(token) == primitives.keyed_hash(token, b"meldpunt/v1/lookup-hash")
    assert spec.LABEL_LOOKUP_HASH == b"meldpunt/v1/lookup-hash"
    assert passphrases.lookup_hash(token) != token
    assert passphrases.lookup_hash(token) != passphrases.lookup_hash(bytes(32))


# --- helpers -----------------------------------------------------------------------------------


def _salt() -> bytes:
    from app.domain.db import database
    from app.domain.reports import installation_salt

    with database.connection_context():
        return installation_salt()


def _browser_identity(phrase: str | None = None) -> tuple[str, passphrases.ReporterIdentity]:
    """What the browser makes and derives, computed here in Python: a passphrase and its identity."""
    phrase = phrase or passphrases.generate().reveal()
    return phrase, DERIVE(passphrases.parse(phrase), _salt())


def _browser_report(client, team_key, identity, attachments=()) -> object:
    """A report filed on the JavaScript path with this identity, sealed to the team and to it."""
    recipients = [team_key.public, identity.key.public]
    token = csrf_token(client.get("/report").data)
    body = seal_bytes(report.encode(FIELDS), recipients, Meta("report", type="application/json"))
    handle = upload(client, token, body, reporter=identity.key)
    extra = [
        upload(client, token, seal_bytes(data, recipients, Meta("attachment", name=name)), reporter=identity.key)
        for name, data in attachments
    ]
    return submit(client, token, handle, extra, lookup_token=identity.lookup_token, reporter=identity.key)


def _cookie(portal, client) -> dict:
    key = secretbox.derive_key(portal.secret_key.encode(), b"meldpunt/v1/session-cookie")
    return json.loads(secretbox.decrypt(key, base64.urlsafe_b64decode(client.get_cookie(COOKIE).value)))


def _reseal(portal, cookie: dict) -> str:
    key = secretbox.derive_key(portal.secret_key.encode(), b"meldpunt/v1/session-cookie")
    return base64.urlsafe_b64encode(secretbox.encrypt(key, json.dumps(cookie).encode())).decode()


@pytest.fixture
def derivations(monkeypatch):
    """Every server-side derivation, counted (they all go through app.domain.reports.derive_identity)."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return DERIVE(*args, **kwargs)

    monkeypatch.setattr("app.domain.reports.passphrases.derive", counted)
    return calls


# --- what is stored ----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_database_holds_the_tokens_hash_never_the_token(portal, portal_config, client):
    from app.domain.db import database
    from app.domain.models import Mailbox

    phrase = passphrase_from(submit_report(client, files=[]).data)
    identity = passphrases.derive(passphrases.parse(phrase), _salt())
    assert sign_in(client, phrase).status_code == 302
    with database.connection_context():
        box = Mailbox.get()
        assert box.lookup_hash == passphrases.lookup_hash(identity.lookup_token).hex()
        assert box.public_key == str(identity.key.public)
    stored = raw.stored_bytes(portal_config["INSTANCE"])
    assert identity.lookup_token.hex().encode() not in stored
    assert identity.lookup_token not in stored
    assert base64.b64encode(identity.lookup_token).rstrip(b"=") not in stored


@pytest.mark.slow
def test_the_no_javascript_report_is_sealed_to_the_team_and_the_reporter(portal, client, team_key):
    from app.domain.blobs import BlobReader
    from app.domain.db import database
    from app.domain.models import Item
    from crypto.envelope import read_header

    phrase = passphrase_from(submit_report(client).data)
    identity = passphrases.derive(passphrases.parse(phrase), _salt())
    with database.connection_context():
        body = Item.get(Item.kind == "report")
        assert read_header(BlobReader(body)).addressed_to([team_key.public, identity.key.public])
        # Its attachments streamed in before the passphrase existed: the team's only.
        for attachment in Item.select().where(Item.kind == "attachment"):
            assert read_header(BlobReader(attachment)).addressed_to([team_key.public])
    sign_in(client, phrase)
    page = client.get("/mailbox?lang=en").data.decode()
    assert "Your report" in page
    assert REPORT["title"] in page
    assert "MARKER-DESCRIPTION" in page
    assert "Affected system or product" in page
    assert page.split("<main>")[1].count("Attachment, sealed to the security team only") == 2


# --- the two paths, one mailbox ----------------------------------------------------------------


@pytest.mark.slow
def test_a_mailbox_made_in_the_browser_opens_with_the_passphrase_without_javascript(
    portal, client, team_key, derivations
):
    phrase, identity = _browser_identity()
    filed = _browser_report(client, team_key, identity, attachments=[("poc.txt", b"browser proof")])
    assert filed.status_code == 200, filed.data.decode()
    assert derivations == []  # the browser derived; the server did not
    assert phrase.split()[0] not in filed.data.decode().split("<main>")[1]

    reader = portal.test_client()
    assert sign_in(reader, phrase.upper().replace(" ", "-")).status_code == 302
    assert len(derivations) == 1
    page = reader.get("/mailbox?lang=en").data.decode()
    assert "MARKER-BROWSER-DESCRIPTION" in page
    assert "Browser-sealed title" in page
    assert 'href="/mailbox/files/1">poc.txt</a>' in page
    assert reader.get("/mailbox/files/1").data == b"browser proof"


@pytest.mark.slow
def test_a_mailbox_made_without_javascript_opens_with_the_browsers_token(portal, client, derivations):
    phrase = passphrase_from(submit_report(client, files=[]).data)
    assert len(derivations) == 1
    _phrase, identity = _browser_identity(phrase)
    browser = portal.test_client()
    opened = sign_in_by_token(browser, identity.lookup_token)
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith("/mailbox")
    assert len(derivations) == 1  # signing in with the token derives nothing
    page = browser.get("/mailbox?lang=en").data.decode()
    assert f'data-reporter-key="{identity.key.public.raw.hex()}"' in page
    assert "MARKER-DESCRIPTION" not in page  # the server cannot decrypt: it has no key
    assert "Decrypting in your browser" in page
    assert len(derivations) == 1


@pytest.mark.slow
def test_a_wrong_or_malformed_token_opens_nothing(portal, client):
    submit_report(client, files=[])
    for token in (secrets.token_hex(32), "zz" * 32, "ab"):
        page = client.get("/replies")
        answer = client.post("/replies?lang=en", data={"csrf_token": csrf_token(page.data), "token": token})
        assert answer.status_code == 400
        assert "No mailbox opens with this passphrase" in answer.data.decode()
        assert 'href="#token"' not in answer.data.decode()
    assert client.get("/mailbox").status_code == 302


def test_the_login_page_derives_in_the_browser(portal, client):
    page = client.get("/replies").data.decode()
    salt = _salt().hex()
    assert 'data-derive="login"' in page
    assert f'data-installation-salt="{salt}"' in page
    assert f'data-installation-salt="{salt}"' in client.get("/report").data.decode()


# --- the browser path's session and mailbox ----------------------------------------------------


@pytest.mark.slow
def test_the_browser_paths_session_holds_no_key_and_is_bound_to_its_mailbox(portal, client, team_key):
    from app.domain.db import database
    from app.domain.models import Mailbox, SignedIn

    _phrase, identity = _browser_identity()
    assert _browser_report(client, team_key, identity).status_code == 200
    assert sign_in_by_token(client, identity.lookup_token).status_code == 302
    cookie = _cookie(portal, client)
    assert "reporter_key" not in cookie
    assert cookie["browser_key"] is True
    text = json.dumps(cookie)
    for secret in (identity.key.secret_bytes(), identity.lookup_token):
        assert secret.hex() not in text
        assert base64.b64encode(secret).decode().rstrip("=") not in text
    with database.connection_context():
        row = SignedIn.get(SignedIn.kind == "reporter")
        assert row.mailbox_check
        assert row.mailbox_check != Mailbox.get().lookup_hash
    assert client.get("/mailbox").status_code == 200

    # Another reporter's mailbox, and this cookie resealed with its number: opens nothing.
    other = portal.test_client()
    submit_report(other, files=[])
    with database.connection_context():
        victim = Mailbox.get(Mailbox.id != cookie["mailbox"])
    forged = portal.test_client()
    forged.set_cookie(COOKIE, _reseal(portal, {**cookie, "mailbox": victim.id}))
    assert forged.get("/mailbox").status_code == 302
    assert forged.get("/mailbox/envelopes/1").status_code == 302
    # A server-path cookie for the victim's key cannot be made either: no key, no mailbox.
    assert forged.get("/mailbox").status_code == 302


@pytest.mark.slow
def test_the_browser_path_mailbox_lists_sealed_items_and_serves_them_as_stored(portal, client, team_key):
    from app.domain.db import database
    from app.domain.models import Item, Report
    from app.domain.reports import mailbox_items

    _phrase, identity = _browser_identity()
    assert _browser_report(client, team_key, identity, attachments=[("a.txt", b"one")]).status_code == 200
    assert sign_in_by_token(client, identity.lookup_token).status_code == 302
    page = client.get("/mailbox?lang=en").data.decode()
    assert f'<section data-sealed-thread data-reporter-key="{identity.key.public.raw.hex()}"' in page
    # The report form's labels, for the browser to show the report's fields by (forms.report_labels).
    labels = json.loads(html.unescape(re.search(r"data-labels='([^']*)'", page).group(1)))
    assert labels["fields"][0] == ["title", "Title"]
    body = ["title", "system", "version", "description", "steps", "impact", "exploited", "credit"]
    assert [key for key, _label in labels["fields"]] == body
    assert labels["answers"] == {"yes": "Yes", "no": "No", "unknown": "Don't know"}
    assert 'data-sign-in="/replies"' in page
    assert 'data-sealed-item="/mailbox/envelopes/1"' in page
    assert 'data-author="reporter" data-kind="report"' in page
    assert re.search(r'data-sealed-attachment="/mailbox/envelopes/2" data-size="\d+" data-size-label="[^"]+"', page)
    assert "Decrypting in your browser…" in page
    assert client.get("/mailbox/files/1").status_code == 404  # the server has no key to decrypt with

    stored = dict(enumerate((envelope for _kind, envelope in stored_envelopes()), start=1))
    with database.connection_context():
        from app.domain.models import Mailbox

        assert [item.kind for item in mailbox_items(Mailbox.get())] == ["report", "attachment"]
    for number, envelope in stored.items():
        answer = client.get(f"/mailbox/envelopes/{number}")
        assert answer.status_code == 200
        assert answer.data == envelope
        assert answer.headers["Content-Type"] == "application/octet-stream"
        assert answer.headers["Content-Disposition"].startswith("attachment")
    meta, body = open_bytes(client.get("/mailbox/envelopes/1").data, identity.key)
    assert json.loads(body)["title"] == FIELDS["title"]
    for number in (0, 3, 2**40):
        assert client.get(f"/mailbox/envelopes/{number}").status_code == 404
    # Not signed in: nothing.
    assert portal.test_client().get("/mailbox/envelopes/1").status_code == 302

    # Another reporter's item numbers are their own: this mailbox's 1 is not theirs.
    other = portal.test_client()
    sign_in(other, passphrase_from(submit_report(other, files=[]).data))
    theirs = other.get("/mailbox/envelopes/1").data
    assert theirs != stored[1]
    assert other.get("/mailbox/envelopes/2").status_code == 404
    with database.connection_context():
        assert Report.select().count() == 2
        assert Item.select().where(Item.kind == "report").count() == 2


@pytest.mark.slow
def test_a_report_sealed_to_the_team_only_says_so(portal, client, team_key):
    """A report from before this change (or any envelope the reporter's key does not open): an
    entry saying it is sealed to the team only, never a 500."""
    from app.domain.db import database
    from app.domain.reports import _staged, store_browser_sealed_report

    from .team_helpers import settings_of

    phrase, identity = _browser_identity()
    with database.connection_context():
        staged = _staged("report", b"{}", [team_key.public], "application/json", DAY)
        staged.complete = True
        staged.save()
        reporter = (passphrases.lookup_hash(identity.lookup_token), identity.key.public)
        store_browser_sealed_report(settings_of(portal), staged, [], reporter)
    assert sign_in(client, phrase).status_code == 302
    page = client.get("/mailbox?lang=en")
    assert page.status_code == 200
    assert "Sealed to the security team only" in page.data.decode()
    browser = portal.test_client()
    assert sign_in_by_token(browser, identity.lookup_token).status_code == 302
    assert 'data-kind="report"' in browser.get("/mailbox").data.decode()


# --- what the JavaScript path must send --------------------------------------------------------


def test_a_report_upload_must_name_the_reporters_key(client, team_key):
    token = csrf_token(client.get("/report").data)
    for key in (None, "", "ab" * 31, "AB" * 32, "zz" * 32):
        data = {"purpose": "report", "size": 5000}
        data["pow"], data["pow_challenge"] = solve(client)
        if key is not None:
            data["reporter_key"] = key
        assert client.post("/uploads", data=data, headers={"X-CSRFToken": token}).status_code == 400
    assert start(client, token, 5000).status_code == 200


# Points of small order on Curve25519 (0, 1 and one of order 8): sealing to one fails in libsodium.
SMALL_ORDER = [
    "00" * 32,
    "01" + "00" * 31,
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
]


def test_a_report_upload_may_not_name_a_key_nobody_can_seal_to(portal, client, team_key):
    """The browser names the reporter's key; a key of small order would be stored with the mailbox
    and every reply the team seals to it would fail (a 500 on the team's reply and acknowledge).
    Nor may the reporter's key be the team's own."""
    token = csrf_token(client.get("/report").data)
    for key in [*SMALL_ORDER, team_key.public.raw.hex()]:
        assert primitives.small_order(bytes.fromhex(key)) or key == team_key.public.raw.hex()
        data = {"purpose": "report", "size": 5000, "reporter_key": key}
        data["pow"], data["pow_challenge"] = solve(client)
        assert client.post("/uploads", data=data, headers={"X-CSRFToken": token}).status_code == 400, key


def test_report_uploads_must_be_sealed_to_the_named_key(client, team_key, other_key):
    token = csrf_token(client.get("/report").data)
    team_only = seal_bytes(b"{}", [team_key.public], Meta("report"))
    handle = start(client, token, len(team_only)).get_json()["id"]
    assert put(client, token, handle, 0, team_only).get_json()["error"] == "wrong-recipients"
    to_other = seal_bytes(b"{}", [team_key.public, other_key.public], Meta("report"))
    handle = start(client, token, len(to_other)).get_json()["id"]
    assert put(client, token, handle, 0, to_other).get_json()["error"] == "wrong-recipients"


def test_the_sealed_report_must_name_the_key_its_uploads_were_sealed_to(portal, client, team_key):
    from app.domain.db import database
    from app.domain.models import Item, Mailbox, Report

    from .test_sealed_uploads import REPORTER, sealed_to

    token = csrf_token(client.get("/report").data)
    handle = upload(client, token, seal_bytes(b"{}", sealed_to(team_key), Meta("report")))
    stranger = PrivateKey.generate()
    refused = submit(client, token, handle, reporter=stranger)
    assert refused.status_code == 400
    for bad in ({"lookup_hash": "xyz"}, {"reporter_key": ""}):
        handle = upload(client, token, seal_bytes(b"{}", sealed_to(team_key), Meta("report")))
        data = {"csrf_token": token, "accept_policy": "y", "sealed": handle}
        data |= {"reporter_key": REPORTER.public.raw.hex(), "lookup_hash": secrets.token_hex(32)} | bad
        assert client.post("/report/sealed", data=data).status_code == 400
    with database.connection_context():
        assert Report.select().count() == 0
        assert Mailbox.select().count() == 0
        assert Item.select().where(Item.report.is_null(False)).count() == 0


def test_a_lookup_hash_a_mailbox_has_already_stores_nothing(portal, client, team_key):
    """The lookup hash is the browser's choice: one that a mailbox has already is refused with the
    translated "already sent" page, and nothing of the second report is kept, not its uploads."""
    from app.domain.db import database
    from app.domain.models import Item, Mailbox, Report

    from .test_sealed_uploads import identity_fields, sealed_to

    token = csrf_token(client.get("/report").data)
    lookup_token = secrets.token_bytes(32)
    first = upload(client, token, seal_bytes(b"{}", sealed_to(team_key), Meta("report")))
    assert submit(client, token, first, lookup_token=lookup_token).status_code == 200
    token = csrf_token(client.get("/report").data)
    second = upload(client, token, seal_bytes(b"{}", sealed_to(team_key), Meta("report")))
    attachment = upload(client, token, seal_bytes(b"a", sealed_to(team_key), Meta("attachment", name="a.txt")))
    data = {"csrf_token": token, "accept_policy": "y", "sealed": second, "sealed_attachments": [attachment]}
    refused = client.post("/report/sealed?lang=nl", data=data | identity_fields(lookup_token))
    assert refused.status_code == 409
    assert "Al verstuurd" in refused.get_data(as_text=True)  # "Already sent", in the page's language
    with database.connection_context():
        assert Report.select().count() == 1
        assert Mailbox.select().count() == 1
        assert Item.select().count() == 1  # the first report's; the second's uploads are gone


def test_a_new_key_lets_go_of_the_uploads_started_with_the_one_before(client, team_key):
    from .test_sealed_uploads import REPORTER, sealed_to

    token = csrf_token(client.get("/report").data)
    first = upload(client, token, seal_bytes(b"{}", sealed_to(team_key), Meta("report")))
    other = PrivateKey.generate()
    start(client, token, 5000, reporter=other)
    assert submit(client, token, first, reporter=REPORTER).status_code == 400  # let go
    assert submit(client, token, first, reporter=other).status_code == 400  # never sealed to `other`


@pytest.mark.slow
def test_no_derivation_on_the_browser_path(portal, client, team_key, derivations):
    _phrase, identity = _browser_identity()
    assert _browser_report(client, team_key, identity).status_code == 200
    assert sign_in_by_token(client, identity.lookup_token).status_code == 302
    page = client.get("/mailbox")
    assert page.status_code == 200
    assert client.get("/mailbox/envelopes/1").status_code == 200
    token = csrf_token(page.data)
    message = seal_bytes(b"hi", [team_key.public, identity.key.public], Meta("message"))
    handle = upload(client, token, message, "message")
    assert client.post("/mailbox/sealed", data={"csrf_token": token, "sealed": handle}).status_code == 303
    assert client.get("/mailbox").status_code == 200
    assert derivations == []


# --- migration 15 ------------------------------------------------------------------------------


@pytest.mark.slow
def test_migration_15_hashes_stored_tokens_and_old_mailboxes_still_open(tmp_path, team_key):
    """A database at version 14 with a mailbox found by its token: after the upgrade the row holds
    the token's hash, and the same passphrase opens it on both paths."""
    from app import create_app
    from app.domain import schema
    from app.domain.db import bind, database
    from app.domain.models import Mailbox

    from .test_migrations import PORTAL_SECRET, _legacy_instance, meldpunt

    instance = _legacy_instance(tmp_path / "legacy", team_key)
    bind(instance_database(instance))
    phrase = passphrases.generate()
    with database.connection_context():
        for number in range(2, 15):
            with database.atomic():
                schema.MIGRATIONS[number][1]()
                schema._stamp(number)
        salt = bytes(database.execute_sql("SELECT value FROM setting WHERE key = 'installation_salt'").fetchone()[0])
        identity = passphrases.derive(phrase, salt)
        report_id = database.execute_sql("SELECT id FROM report WHERE reference = 'MP-AAAA-AAAA'").fetchone()[0]
        insert = "INSERT INTO mailbox (id, report_id, lookup_token, public_key, last_used) VALUES (?, ?, ?, ?, ?)"
        database.execute_sql(
            raw.bound(insert),
            (4242 << 40, report_id, identity.lookup_token.hex(), str(identity.key.public), "2026-01-05"),
        )
    upgrade = meldpunt("upgrade", instance=instance)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "Applied migration 15" in upgrade.stdout
    assert identity.lookup_token.hex().encode() not in raw.stored_bytes(instance)

    with database.connection_context():
        hashes = {box.id: box.lookup_hash for box in Mailbox.select()}
    assert hashes[4242 << 40] == passphrases.lookup_hash(identity.lookup_token).hex()
    assert passphrases.lookup_hash(bytes.fromhex("ab" * 32)).hex() in hashes.values()

    config = {
        "INSTANCE": instance,
        "MELDPUNT_SECURE_COOKIES": False,
        "DATABASE_URL": instance_database(instance),
        "SECRET_KEY": PORTAL_SECRET,
    }
    portal = create_app(config)
    server_path = portal.test_client()
    assert sign_in(server_path, phrase.reveal()).status_code == 302
    assert server_path.get("/mailbox").status_code == 200
    browser_path = portal.test_client()
    assert sign_in_by_token(browser_path, identity.lookup_token).status_code == 302
    assert browser_path.get("/mailbox").status_code == 200
