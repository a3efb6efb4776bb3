"""Team accounts: enrolment, TOTP, replay, throttling, generic errors, roles on every route."""

import time

import pytest

from .conftest import csrf_token
from .team_helpers import PASSWORD, enrol, sign_in, team_client


def test_enrol_and_sign_in_with_a_real_code(portal):
    client = portal.test_client()
    totp = enrol(client, portal, "alice", "handler")
    response = sign_in(client, "alice", totp)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/team/")
    assert client.get("/team/").status_code == 200


def test_the_qr_code_is_served_as_svg_by_us(portal):
    from app.domain.accounts import create
    from app.domain.db import database

    client = portal.test_client()
    with portal.app_context(), database.connection_context():
        _, token = create("carol", "handler")
    page = client.get(f"/team/enrol/{token}")
    client.post(
        f"/team/enrol/{token}", data={"csrf_token": csrf_token(page.data), "password": PASSWORD, "again": PASSWORD}
    )
    qr = client.get(f"/team/enrol/{token}/qr.svg")
    assert qr.status_code == 200
    assert qr.mimetype == "image/svg+xml"
    assert b"<svg" in qr.data
    assert f"/team/enrol/{token}/qr.svg" in client.get(f"/team/enrol/{token}").data.decode()


def test_short_password_is_refused(portal):
    from app.domain.accounts import create
    from app.domain.db import database

    client = portal.test_client()
    with portal.app_context(), database.connection_context():
        _, token = create("dave", "handler")
    page = client.get(f"/team/enrol/{token}")
    response = client.post(
        f"/team/enrol/{token}", data={"csrf_token": csrf_token(page.data), "password": "short", "again": "short"}
    )
    assert response.status_code == 400
    assert "at least 15 characters" in response.data.decode()


def test_enrolment_link_works_once(portal):
    from app.domain.accounts import create
    from app.domain.db import database

    client = portal.test_client()
    with portal.app_context(), database.connection_context():
        _, token = create("erin", "handler")
    client_a = portal.test_client()
    page = client_a.get(f"/team/enrol/{token}")
    assert page.status_code == 200
    totp = enrol(client, portal, "frank", "handler")
    assert totp  # another user's enrolment does not affect erin's link
    assert client.get("/team/enrol/not-a-token").status_code == 404


def test_a_link_in_two_halves_opens_only_whole_and_a_whole_link_takes_nothing_more(portal):
    """A link given out with four eyes (app/domain/accounts.py `by_enrol_token`): its first half
    ends in a dot and works only with the proposer's code after it (the dot may be lost on the
    way); a whole link does not work with anything added."""
    from app.domain import accounts
    from app.domain.db import database

    with portal.app_context(), database.connection_context():
        _, whole = accounts.create("gina", "handler")
        code, digest = accounts.new_code()
        _, first = accounts.create("hugo", "admin", "ada", "olga", digest)
    client = portal.test_client()
    assert first.endswith(".")
    assert len(first) == accounts.LINK_CHARS + 1
    assert client.get(f"/team/enrol/{whole}").status_code == 200
    for extra in (".", f".{code}", code):
        assert client.get(f"/team/enrol/{whole}{extra}").status_code == 404
    for partial in (first, first.rstrip("."), f"{first}{code}x", f"{first}{code[:-1]}", f".{code}", code):
        assert client.get(f"/team/enrol/{partial}").status_code == 404, partial
    assert client.get(f"/team/enrol/{first}{code}").status_code == 200
    assert client.get(f"/team/enrol/{first.rstrip('.')}{code}").status_code == 200


def test_a_used_code_is_refused_the_second_time(portal):
    client = portal.test_client()
    totp = enrol(client, portal, "alice", "handler")
    code = totp.at(time.time() + 30)  # the same code twice, even if a step boundary passes between
    assert sign_in(client, "alice", totp, code=code).status_code == 302
    other = portal.test_client()
    replay = sign_in(other, "alice", totp, code=code)
    assert replay.status_code == 400
    assert "Invalid name, password or code." in replay.data.decode()


@pytest.mark.parametrize("wrong", ["name", "password", "code"])
def test_one_generic_error(portal, wrong):
    client = portal.test_client()
    totp = enrol(client, portal, "alice", "handler")
    page = client.get("/team/signin")
    data = {
        "csrf_token": csrf_token(page.data),
        "name": "alice",
        "password": PASSWORD,
        "code": totp.at(time.time() + 30),
    }
    data[wrong] = "000000" if wrong == "code" else "wrong"
    response = client.post("/team/signin", data=data)
    assert response.status_code == 400
    assert "Invalid name, password or code." in response.data.decode()


def test_failures_throttle_the_account(portal):
    client = portal.test_client()
    totp = enrol(client, portal, "alice", "handler")
    for _ in range(5):
        assert sign_in(client, "alice", totp, password="wrong password entirely").status_code == 400
    # Now even the right password and code are refused for a while.
    assert sign_in(client, "alice", totp, offset=30).status_code == 400
    from app.domain.db import database
    from app.domain.models import User

    with database.connection_context():
        user = User.get(User.name == "alice")
        assert user.failures == 5
        assert user.locked_until is not None


def test_failures_spread_out_do_not_lock(portal, monkeypatch):
    import datetime

    from app.domain import accounts

    client = portal.test_client()
    totp = enrol(client, portal, "alice", "handler")
    start = datetime.datetime(2026, 11, 28, 9, 0)
    for n in range(6):  # one typo every two minutes
        monkeypatch.setattr(accounts, "now", lambda n=n: start + datetime.timedelta(minutes=2 * n))
        sign_in(client, "alice", totp, password="typo in the password")
    monkeypatch.setattr(accounts, "now", lambda: start + datetime.timedelta(minutes=13))
    assert sign_in(client, "alice", totp, offset=30).status_code == 302


def test_disabled_accounts_cannot_sign_in_and_lose_their_session(portal):
    admin = team_client(portal, "root", "admin")
    client = portal.test_client()
    totp = enrol(client, portal, "bob", "handler")
    assert sign_in(client, "bob", totp).status_code == 302
    from app.domain.db import database
    from app.domain.models import User

    with database.connection_context():
        bob = User.get(User.name == "bob")
    page = admin.get("/team/users")
    assert (
        admin.post(f"/team/users/{bob.id}", data={"csrf_token": csrf_token(page.data), "action": "disable"}).status_code
        == 200
    )
    assert client.get("/team/").status_code == 403
    assert sign_in(client, "bob", totp, offset=60).status_code == 400


def test_admin_resets_2fa_with_a_new_link(portal):
    admin = team_client(portal, "root", "admin")
    client = portal.test_client()
    enrol(client, portal, "bob", "handler")
    from app.domain.db import database
    from app.domain.models import User

    with database.connection_context():
        bob = User.get(User.name == "bob")
    page = admin.get("/team/users")
    answer = admin.post(f"/team/users/{bob.id}", data={"csrf_token": csrf_token(page.data), "action": "reset"})
    assert "/team/enrol/" in answer.data.decode()
    with database.connection_context():
        assert not User.get(User.name == "bob").enrolled


def test_idle_team_session_ends_after_30_minutes(portal, monkeypatch):
    client = team_client(portal, "alice", "handler")
    later = time.time() + 31 * 60
    monkeypatch.setattr("app.web.sessions.time.time", lambda: later)
    assert client.get("/team/").status_code == 403


def test_sign_out_clears_the_session(portal):
    client = team_client(portal, "alice", "handler")
    page = client.get("/team/")
    assert client.post("/team/signout", data={"csrf_token": csrf_token(page.data)}).status_code == 302
    assert client.get("/team/").status_code == 403


TEAM = ("admin", "handler")
EVERYONE = ("admin", "handler", "auditor")
OFFICERS = ("auditor", "admin")
PUBLIC = ("anonymous", *EVERYONE)
# Who may use each workspace endpoint. Written out here, not read from the app, so the test is a
# second opinion; and the routes come from the app's URL map, so a new route without a line here
# fails the test instead of going unchecked.
EXPECTED = {
    "team.signin": PUBLIC,
    "team.enrol": PUBLIC,
    "team.enrol_qr": PUBLIC,
    "team.signout": EVERYONE,
    "team.home": TEAM,  # privacy officers sign in to their own pages, /audit/
    "team.report": TEAM,
    "team.change_state": TEAM,
    "team.set_dates": TEAM,
    "team.cra": TEAM,
    "team.export": TEAM,
    "team.credit": TEAM,
    "team.withdraw_credit": TEAM,
    "team.export_since": TEAM,
    "team.reply": TEAM,
    "team.reply_sealed": TEAM,
    "team.reply_file": TEAM,
    "team.acknowledge": TEAM,
    "team.start_upload": TEAM,
    "team.upload_part": TEAM,
    "team.upload_status": TEAM,
    "team.users": ("admin",),
    "team.user_action": ("admin",),
    "team.hold": ("admin",),
    "team.add_user": ("admin",),
    "team.proposals": ("admin",),  # four eyes: privacy officers decide under /audit/proposals
    "team.decide": ("admin",),
    "audit.home": OFFICERS,
    "audit.inventory": OFFICERS,
    "audit.retention": OFFICERS,
    "audit.history": OFFICERS,
    "audit.head_file": OFFICERS,
    "audit.verify_now": OFFICERS,
    "audit.selfcheck": OFFICERS,
    "audit.processing": OFFICERS,
    "audit.processing_markdown": OFFICERS,
    "audit.processing_json": OFFICERS,
    "audit.proposals": OFFICERS,
    "audit.decide": OFFICERS,
    "audit.propose": ("admin",),  # only an admin proposes
}
SAMPLE = {"reference": "MP-XXXX-XXXX", "token": "no-such-token", "handle": "no-such-upload"}


def _workspace_routes(portal):
    for rule in portal.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("team", "audit"):
            values = {name: SAMPLE.get(name, 1) for name in rule.arguments}
            path = rule.build(values)[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method.lower(), path


def test_every_workspace_route_has_an_expected_role_list(portal):
    assert {endpoint for endpoint, _, _ in _workspace_routes(portal)} == set(EXPECTED)


@pytest.mark.parametrize("role", ["anonymous", "auditor", "handler", "admin"])
def test_roles_on_every_workspace_route(portal, role):
    client = portal.test_client() if role == "anonymous" else team_client(portal, f"user-{role}", role)
    token = csrf_token(client.get("/replies").data)  # a session token: the refusal must be the role's
    # Signing out last, or every route after it would be refused for that reason alone.
    for endpoint, method, path in sorted(_workspace_routes(portal), key=lambda r: r[0] == "team.signout"):
        kwargs = {"data": {"csrf_token": token}} if method in ("post", "put") else {}
        status = getattr(client, method)(path, **kwargs).status_code
        if role in EXPECTED[endpoint]:
            assert status != 403, (method, path)  # 404, 400 or 302 here: no such report, no form
        else:
            assert status == 403, (method, path)


def test_a_privacy_officer_lands_on_their_own_pages(portal):
    client = portal.test_client()
    totp = enrol(client, portal, "olga", "auditor")
    response = sign_in(client, "olga", totp)
    assert response.headers["Location"].endswith("/audit/")
    assert client.get("/audit/").status_code == 200
    assert client.get("/team/").status_code == 403  # the report list is not theirs
