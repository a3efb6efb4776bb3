"""Rate limits. Reporters behind Tor all arrive from the same address, so per-address limits alone
do nothing there: every limit also has a global variant. Limit state lives in this process's
memory only. (The cap on argon2id derivations is app/domain/derivations.py.)"""

from flask import Flask, current_app, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, storage_uri="memory://", headers_enabled=False)


def everyone() -> str:
    return "everyone"


def limited(setting: str):
    """POSTs to the view count against MELDPUNT_LIMIT_<setting> for everyone together, and against
    MELDPUNT_LIMIT_<setting>_PER_ADDRESS for each address."""
    name = f"MELDPUNT_LIMIT_{setting}"

    def decorate(view):
        view = limiter.limit(lambda: current_app.config[name], key_func=everyone, scope=setting, methods=["POST"])(view)
        per_address = lambda: current_app.config[f"{name}_PER_ADDRESS"]  # noqa: E731  (read per request)
        return limiter.limit(per_address, scope=f"{setting}-address", methods=["POST"])(view)

    return decorate


def per_report(setting: str, key):
    """POSTs to the view count against MELDPUNT_LIMIT_<setting> for each report, whichever address
    they come from; `key()` names the report (it stays in this process's memory), or None when
    the request names none (a signed-out visitor, sent on to sign in): those are not counted, or
    strangers could use up a shared count."""
    name = f"MELDPUNT_LIMIT_{setting}"
    return limiter.limit(
        lambda: current_app.config[name],
        key_func=lambda: key() or "none",
        scope=setting,
        methods=["POST"],
        exempt_when=lambda: key() is None,
    )


def per_account(limit: str, scope: str):
    """POSTs to the view count against `limit` for each signed-in team account (a costly action
    someone trusted may still click too often)."""
    return limiter.limit(limit, key_func=lambda: f"account:{g.user.id}", scope=scope, methods=["POST"])


submit_limits = limited("SUBMIT")
login_limits = limited("LOGIN")


def init_app(app: Flask) -> None:
    limiter.init_app(app)
