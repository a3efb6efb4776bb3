"""Rate limits. Reporters behind Tor all arrive from the same address, so per-address limits alone
do nothing there: every limit also has a global variant.

Counts live in MELDPUNT_REDIS_URL's Redis, shared by every worker and server, or without it in
each process's memory (then each worker counts alone: fine for one worker, docs/deployment.md).
A limit that stands for a client address is counted under a keyed hash of the address, never the
address: HMAC-SHA-256 with a random key for the UTC day (in Redis for all servers, expiring after
two days; in memory otherwise), so no address, not even in Redis, can be tested against a count
once its day's key is gone. If Redis cannot be reached, a limited request (submitting, signing
in) fails closed with a 503 (app/web/errors.py); pages that count nothing keep working. (The cap
on argon2id derivations is per machine: app/domain/derivations.py.)"""

import datetime
import hashlib
import hmac
import secrets
import threading
from functools import partial

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from crypto import secretbox, spec

KEY_DAYS = 2  # a day's value lives on into the next day, for requests that straddle midnight, then expires
STORE_TIMEOUT = 1.0  # seconds for Redis to answer: a limited request waits no longer, then gets a 503


def address() -> str:
    """The client's address as the limits count it: a keyed hash (`keyed`)."""
    return keyed(get_remote_address())


def keyed(value: str) -> str:
    """`value` (an address, a mailbox's id) as the limits' store may hold it: HMAC-SHA-256 under
    the day's key, which is itself an HMAC of the day's random value (kept in Redis for every
    server) under a key derived from SECRET_KEY. A dump of Redis alone cannot be tested against
    guesses (every IPv4 address is only 2^32 of them), and once the day's value has expired not
    even SECRET_KEY helps. At midnight UTC the counts start again: a client gets at most twice
    its budget across that moment."""
    key = current_app.extensions[KEYS].today()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


KEYS = "meldpunt-limit-keys"


class DayKeys:
    """The day's key: its random value in Redis for every server (set by whichever asks first,
    `SET NX GET`), or per process in memory; remembered per process for the day, so a request
    costs no extra trip to Redis."""

    def __init__(self, secret: str, redis_url: str | None):
        self._secret = secretbox.derive_key(secret.encode(), spec.LABEL_LIMIT_KEYS)
        self._redis = None
        if redis_url:
            import redis  # the `redis` extra

            self._redis = redis.Redis.from_url(
                redis_url, socket_timeout=STORE_TIMEOUT, socket_connect_timeout=STORE_TIMEOUT
            )
        self._known: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def today(self) -> bytes:
        day = datetime.datetime.now(datetime.UTC).date().isoformat()
        key = self._known.get(day)
        if key is None:
            mine = secrets.token_bytes(32)
            if self._redis is None:
                value = mine
            else:  # the value already there, or ours if we were first
                value = self._redis.set(f"meldpunt:day-value:{day}", mine, nx=True, get=True, ex=KEY_DAYS * 86400)
                value = value or mine
            key = hmac.new(self._secret, value, hashlib.sha256).digest()
            with self._lock:
                self._known = {day: key}  # yesterday's goes
        return key


limiter = Limiter(key_func=address, headers_enabled=False, key_prefix="meldpunt")


@limiter.request_filter
def _reads() -> bool:
    """Every limit here counts POSTs: a GET or HEAD is not looked at, so a page costs no trip to
    the limits' store (a quarter of the home page's time) and works while Redis is away."""
    return _reading()


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
        key_func=lambda: keyed(key()) if key() else "none",
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
    shared = app.config.get("MELDPUNT_REDIS_URL") or None
    app.config["RATELIMIT_STORAGE_URI"] = shared or "memory://"
    if shared:  # a Redis that hangs holds a thread for this long at most, then the request gets a 503
        options = {"socket_timeout": STORE_TIMEOUT, "socket_connect_timeout": STORE_TIMEOUT}
        app.config["RATELIMIT_STORAGE_OPTIONS"] = options
    app.extensions[KEYS] = DayKeys(str(app.config["SECRET_KEY"]), shared)
    limiter.init_app(app)
    # Flask-Limiter works out a request's limits before it asks the filter above, and looks at
    # every answer afterwards (together a fifth of the home page's time): for a read its hooks
    # are not called at all.
    hooks = app.before_request_funcs[None]
    check = limiter._check_request_limit
    hooks[hooks.index(check)] = lambda: None if _reading() else check()
    answers = app.after_request_funcs[None]
    for index, hook in enumerate(answers):
        if isinstance(hook, partial) and hook.args == (limiter,):
            answers[index] = lambda response, hook=hook: response if _reading() else hook(response)


def _reading() -> bool:
    return request.method in ("GET", "HEAD")
