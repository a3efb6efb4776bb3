"""Sessions the server can end (issue 9, point 6) and proof of work used once (point 8). Each
reproduction of the issue is a test here: copied cookies after sign-out, a re-enabled account's old
cookie, a session minted with SECRET_KEY alone, a saved cookie replaying its solved challenge."""

import base64
import json
import secrets

import pytest

from .conftest import csrf_token
from .portal_helpers import passphrase_from, sign_in, submit_report
from .team_helpers import enrol, team_client
from .team_helpers import sign_in as team_sign_in

COOKIE = "mp_session"


def _cookie(client) -> str:
    return client.get_cookie(COOKIE).value


def _with_cookie(portal, value: str):
    other = portal.test_client()
    other.set_cookie(COOKIE, value)
    return other


def test_a_copied_reporter_cookie_is_worthless_after_sign_out(portal, client):
    sign_in(client, passphrase_from(submit_report(client, files=[]).data))
    copy = _cookie(client)
    assert _with_cookie(portal, copy).get("/mailbox").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/mailbox").data)})
    assert _with_cookie(portal, copy).get("/mailbox").status_code == 302  # to the sign-in page


def test_a_reporters_visit_ends_after_four_hours_however_active(portal, client, monkeypatch):
    import time

    sign_in(client, passphrase_from(submit_report(client, files=[]).data))
    start = time.time()
    for minutes in range(0, 4 * 60, 10):  # a request every ten minutes: never idle
        monkeypatch.setattr("app.web.sessions.time.time", lambda minutes=minutes: start + minutes * 60)
        assert client.get("/mailbox").status_code == 200
    monkeypatch.setattr("app.web.sessions.time.time", lambda: start + 4 * 60 * 60 + 120)
    assert client.get("/mailbox").status_code == 302


def test_a_copied_team_cookie_is_worthless_after_sign_out(portal):
    from app.domain.db import database
    from app.domain.models import Event

    team = team_client(portal, "alice", "handler")
    copy = _cookie(team)
    team.post("/team/signout", data={"csrf_token": csrf_token(team.get("/team/").data)})
    assert _with_cookie(portal, copy).get("/team/").status_code == 403
    with database.connection_context():
        actions = [event.action for event in Event.select().order_by(Event.id)]
    assert actions[-2:] == ["signed-in", "signed-out"]


def test_disabling_ends_sessions_and_enabling_does_not_bring_them_back(portal):
    from app.domain.db import database
    from app.domain.models import User

    admin = team_client(portal, "root", "admin")
    bob = team_client(portal, "bob", "handler")
    copy = _cookie(bob)
    with database.connection_context():
        bob_id = User.get(User.name == "bob").id
    for action in ("disable", "enable"):
        token = csrf_token(admin.get("/team/users").data)
        assert admin.post(f"/team/users/{bob_id}", data={"csrf_token": token, "action": action}).status_code == 200
    assert bob.get("/team/").status_code == 403
    assert _with_cookie(portal, copy).get("/team/").status_code == 403


def test_a_reset_ends_the_accounts_sessions(portal):
    from app.domain.db import database
    from app.domain.models import User

    admin = team_client(portal, "root", "admin")
    bob = team_client(portal, "bob", "handler")
    with database.connection_context():
        bob_id = User.get(User.name == "bob").id
    token = csrf_token(admin.get("/team/users").data)
    admin.post(f"/team/users/{bob_id}", data={"csrf_token": token, "action": "reset"})
    assert bob.get("/team/").status_code == 403


def test_a_team_session_ends_after_twelve_hours(portal, monkeypatch):
    import datetime

    team = team_client(portal, "alice", "handler")
    assert team.get("/team/").status_code == 200
    later = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(hours=12, minutes=1)
    monkeypatch.setattr("app.domain.sessions.now", lambda: later)
    assert team.get("/team/").status_code == 403


def test_secret_key_alone_cannot_make_a_team_session(portal):
    """Whoever has SECRET_KEY (it is backed up with the database) can seal any cookie; without a
    session the server made, that cookie signs no one in."""
    from app.domain.db import database
    from app.domain.models import User
    from crypto import secretbox

    client = portal.test_client()
    enrol(client, portal, "root", "admin")
    with database.connection_context():
        admin_id = User.get(User.name == "root").id
    key = secretbox.derive_key(portal.secret_key.encode(), b"meldpunt/v1/session-cookie")
    import time

    forged = {"team_user": admin_id, "_idle": 30, "_seen": int(time.time() // 60), "_sid": "made-up"}
    cookie = base64.urlsafe_b64encode(secretbox.encrypt(key, json.dumps(forged).encode())).decode()
    attacker = _with_cookie(portal, cookie)
    assert attacker.get("/team/").status_code == 403
    assert attacker.get("/team/users").status_code == 403


def test_a_new_sign_in_gets_a_new_session(portal):
    """No fixation: the session from before the sign-in is not the one after it."""
    client = portal.test_client()
    totp = enrol(client, portal, "alice", "handler")
    client.get("/team/signin")
    before = _cookie(client)
    assert team_sign_in(client, "alice", totp).status_code == 302
    assert _cookie(client) != before
    assert _with_cookie(portal, before).get("/team/").status_code == 403


def test_a_saved_cookie_cannot_replay_its_proof_of_work(portal, client, team_key):
    """The reproduction: one saved cookie filed three more reports without new work."""
    from crypto import Meta, seal_bytes

    from .test_sealed_uploads import sealed_to, start, submit, upload

    token = csrf_token(client.get("/report").data)
    handle = upload(client, token, seal_bytes(b"{}", sealed_to(team_key), Meta("report")))
    saved = _cookie(client)  # solved, not yet spent
    assert submit(client, token, handle).status_code == 200
    replay = _with_cookie(portal, saved)
    envelope = seal_bytes(b"{}", sealed_to(team_key), Meta("report"))
    refused = start(replay, token, len(envelope), proof=("0", ""))
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "proof-of-work"
    # A new challenge, solved anew, works again: only the work is single-use.
    assert submit(client, token, upload(client, token, envelope)).status_code == 200


def test_purge_forgets_what_no_session_or_challenge_can_use(portal):
    import datetime

    from app.domain import sessions
    from app.domain.db import database
    from app.domain.models import SignedIn, SpentChallenge

    from .team_helpers import settings_of, team_today

    team_client(portal, "alice", "handler")
    old = team_today(portal) - datetime.timedelta(days=3)
    with database.connection_context():
        SpentChallenge.create(challenge_hash="x" * 64, day=old)
        SignedIn.create(token_hash="y" * 64, kind="reporter", day=old)
        assert sessions.purge_expired(settings_of(portal)) == 2
        assert SignedIn.select().count() == 1  # alice's, still live


def test_secret_key_and_ones_own_session_do_not_open_another_mailbox(portal):
    """The review's find: reseal your own reporter cookie with another mailbox's number."""
    from app.domain.db import database
    from app.domain.models import Mailbox
    from crypto import secretbox

    victim = portal.test_client()
    submit_report(victim, files=[])
    attacker = portal.test_client()
    sign_in(attacker, passphrase_from(submit_report(attacker, files=[]).data))
    key = secretbox.derive_key(portal.secret_key.encode(), b"meldpunt/v1/session-cookie")
    cookie = json.loads(secretbox.decrypt(key, base64.urlsafe_b64decode(_cookie(attacker))))
    with database.connection_context():
        victim_box = Mailbox.get(Mailbox.id != cookie["mailbox"])  # ids are random: not "the first"
    cookie["mailbox"] = victim_box.id
    forged = base64.urlsafe_b64encode(secretbox.encrypt(key, json.dumps(cookie).encode())).decode()
    assert _with_cookie(portal, forged).get("/mailbox").status_code == 302  # to the sign-in page


def test_one_proof_of_work_files_one_report_even_in_parallel(portal, client, team_key):
    """The review's find: final requests sent together all passed the check before any spent it."""
    import threading

    from app.domain.db import database
    from app.domain.errors import AlreadyAdopted
    from app.domain.models import Item, Report
    from app.domain.reports import store_browser_sealed_report
    from crypto import Meta, seal_bytes

    from .team_helpers import settings_of
    from .test_sealed_uploads import REPORTER, sealed_to, upload

    token = csrf_token(client.get("/report").data)
    handles = [upload(client, token, seal_bytes(b"{}", sealed_to(team_key), Meta("report"))) for _ in range(4)]
    with database.connection_context():
        sealed = [Item.get(Item.handle == handle) for handle in handles]
    start, outcomes = threading.Barrier(4), []

    def file(item):
        with database.connection_context():
            start.wait()
            try:
                identity = (secrets.token_bytes(32), REPORTER.public)
                store_browser_sealed_report(settings_of(portal), item, [], identity, "one-challenge")
                outcomes.append("stored")
            except AlreadyAdopted:
                outcomes.append("refused")

    runners = [threading.Thread(target=file, args=(item,)) for item in sealed]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(timeout=60)
    assert sorted(outcomes) == ["refused", "refused", "refused", "stored"]
    with database.connection_context():
        assert Report.select().count() == 1


@pytest.mark.sqlite
def test_session_rows_keep_no_insertion_order(portal):
    """SQLite's hidden rowid would order a reporter's sign-in between team sign-ins with exact
    times; these tables have none (their rows sit in the order of a random hash)."""
    from app.domain.db import database

    with database.connection_context():
        tables = dict(database.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
    assert "WITHOUT ROWID" in tables["signedin"]
    assert "WITHOUT ROWID" in tables["spentchallenge"]


def test_signing_in_again_ends_the_session_before(portal, client):
    passphrase = passphrase_from(submit_report(client, files=[]).data)
    sign_in(client, passphrase)
    before = _cookie(client)
    sign_in(client, passphrase)
    assert client.get("/mailbox").status_code == 200
    assert _with_cookie(portal, before).get("/mailbox").status_code == 302


def test_strangers_do_not_use_up_a_reporters_follow_up_count(make_portal):
    portal = make_portal(MELDPUNT_LIMIT_FOLLOW_UP="2 per hour")
    stranger = portal.test_client()
    for _ in range(5):  # signed out: sent to sign in, and not counted against anyone
        assert stranger.post("/mailbox").status_code in (302, 400)
    reporter = portal.test_client()
    sign_in(reporter, passphrase_from(submit_report(reporter, files=[]).data))
    page = reporter.get("/mailbox")
    from .conftest import upload_address

    data = {"csrf_token": csrf_token(page.data), "message": "hello"}
    assert reporter.post(upload_address(page.data), data=data, content_type="multipart/form-data").status_code == 302
