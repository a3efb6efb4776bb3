"""An encrypted session cookie, and signed-in sessions the server can end.

Flask's default cookie is signed but readable; ours carries a reporter's mailbox key while they are
signed in without JavaScript, so it is sealed under a key only the server has, and the reporter's
key never goes into the database. With JavaScript the browser keeps the key, and the cookie holds
none. The idle timeout lives inside the sealed cookie. Being signed in (as a reporter or
a team member) takes more: a random token in the cookie whose hash the server keeps
(app/domain/sessions.py), checked before every request; sign-out and account changes delete it.
"""

import base64
import binascii
import json
import time

from flask import Flask, session
from flask.sessions import SecureCookieSession, SessionInterface

from crypto import CryptoError, PrivateKey, secretbox

from ..domain import sessions as signed_in
from ..domain.models import Mailbox, User
from .context import settings

COOKIE = "mp_session"
_SEEN = "_seen"  # minutes since the epoch, inside the encrypted cookie only
_BORN = "_born"  # when a reporter signed in, in minutes: their session's absolute end
TOKEN = "_sid"  # noqa: S105  (the session key holding the token, not a secret)
TEAM_USER = "team_user"
MAILBOX = "mailbox"
REPORTER_KEY = "reporter_key"
BROWSER_KEY = "browser_key"  # a reporter whose browser keeps their key: the cookie holds none
TEAM_IDLE_MINUTES = 30
REPORTER_HOURS = 4  # a reporter's visit, however active, ends after this


class EncryptedSessionInterface(SessionInterface):
    def _key(self, app) -> bytes:
        return secretbox.derive_key(str(app.secret_key).encode(), b"meldpunt/v1/session-cookie")

    def open_session(self, app, request) -> SecureCookieSession:
        data = {}
        cookie = request.cookies.get(COOKIE)
        if cookie:
            try:
                data = json.loads(secretbox.decrypt(self._key(app), base64.urlsafe_b64decode(cookie)))
            except (CryptoError, binascii.Error, ValueError):
                data = {}
        session = SecureCookieSession(data if isinstance(data, dict) else {})
        # Team sessions carry their own (longer) idle time; reporters get the configured one.
        idle = int(session.get("_idle") or app.config["MELDPUNT_SESSION_IDLE_MINUTES"])
        if session and _now() - int(session.get(_SEEN, 0)) > idle:
            session.clear()
            session.modified = True
        return session

    def save_session(self, app, session, response) -> None:
        secure = app.config["MELDPUNT_SECURE_COOKIES"]
        if not session:
            if session.modified:
                response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="Strict")
            return
        session[_SEEN] = _now()
        sealed = secretbox.encrypt(self._key(app), json.dumps(dict(session)).encode())
        response.set_cookie(
            COOKIE,
            base64.urlsafe_b64encode(sealed).decode(),
            httponly=True,
            secure=secure,
            samesite="Strict",
            path="/",
        )


def _now() -> int:
    return int(time.time() // 60)


def init_app(app: Flask) -> None:
    app.session_interface = EncryptedSessionInterface()

    @app.before_request
    def _only_live_sessions() -> None:
        """A signed-in cookie counts only while the server still has its session."""
        if (
            TEAM_USER in session
            and not signed_in.valid(settings(), session.get(TOKEN), "team", session.get(TEAM_USER))
            or MAILBOX in session
            and not (
                signed_in.valid(settings(), session.get(TOKEN), "reporter", mailbox=_cookie_mailbox())
                and _now() - int(session.get(_BORN, 0)) <= REPORTER_HOURS * 60
            )
        ):
            session.clear()


def _cookie_mailbox() -> Mailbox | None:
    mailbox_id = session.get(MAILBOX)
    return Mailbox.get_or_none(Mailbox.id == mailbox_id) if isinstance(mailbox_id, int) else None


def begin_team(user: User) -> None:
    """A fresh session (never the one from before the sign-in) for this account; a session this
    browser had before ends on the server too, so an old copy of its cookie is worthless."""
    signed_in.end(session.get(TOKEN))
    session.clear()
    session[TOKEN] = signed_in.start_team(settings(), user)
    session[TEAM_USER] = user.id
    session["_idle"] = TEAM_IDLE_MINUTES


def begin_reporter(mailbox: Mailbox, key: PrivateKey | None) -> None:
    """A fresh reporter session for `mailbox`. With `key` (the JavaScript-free path, the server
    derived it) the cookie carries it for the visit; without (the browser derived it and keeps
    it), the cookie says so and holds no key at all."""
    signed_in.end(session.get(TOKEN))
    session.clear()
    session[TOKEN] = signed_in.start_reporter(settings(), mailbox)
    session[MAILBOX] = mailbox.id
    if key is None:
        session[BROWSER_KEY] = True
    else:
        session[REPORTER_KEY] = key.secret_bytes().hex()
    session[_BORN] = _now()


def reporter() -> tuple[Mailbox, PrivateKey | None] | None:
    """The signed-in reporter's mailbox and key; the key is None when the browser keeps it.

    The server's session row is bound to the mailbox the cookie names (checked before every
    request, `_only_live_sessions`): whoever holds SECRET_KEY can reseal their own cookie with
    another mailbox's number, and it opens nothing. On the server path the key in the cookie must
    also be that mailbox's own."""
    mailbox = Mailbox.get_or_none(Mailbox.id == session.get(MAILBOX, -1))
    if mailbox is not None and session.get(BROWSER_KEY) is True and REPORTER_KEY not in session:
        return mailbox, None
    try:
        key = PrivateKey(bytes.fromhex(session.get(REPORTER_KEY, "")))
    except (TypeError, ValueError, CryptoError):
        key = None
    if mailbox is None or key is None or str(key.public) != mailbox.public_key:
        if MAILBOX in session:
            end()
        return None
    return mailbox, key


def end() -> None:
    """Sign out: the server forgets the session, so a copy of the cookie is worth nothing."""
    signed_in.end(session.get(TOKEN))
    session.clear()
