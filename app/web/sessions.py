"""An encrypted session cookie. Flask's default cookie is signed but readable; ours carries a
reporter's mailbox key while they are signed in, so it is sealed under a key only the server has.
The server keeps no session state at all, and the idle timeout lives inside the sealed cookie.
"""

import base64
import binascii
import json
import time

from flask.sessions import SecureCookieSession, SessionInterface

from crypto import CryptoError, secretbox

COOKIE = "mp_session"
_SEEN = "_seen"  # minutes since the epoch, inside the encrypted cookie only


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
