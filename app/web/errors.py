"""Error pages in the visitor's language, and the one place where the domain's exceptions become
responses. A visitor never sees a traceback or a reset connection; the log gets the traceback of
an unexpected error, without request data (no path, query, address or form)."""

import traceback

from flask import Flask, has_request_context, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from peewee import DataError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wsgi import LimitedStream

from ..domain import errors as domain
from ..domain.db import is_sqlite

# Enough to drain a slightly oversized upload so the browser gets the 413 page instead of a reset;
# a client sending far more than the limit is cut off.
DRAIN_LIMIT = 64 * 1024 * 1024

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("This page does not exist. Check the address, or start from the home page.")),
    405: (_l("Not allowed"), _l("This page cannot be used this way.")),
    409: (
        _l("Already sent"),
        _l("This was sent already, by another click or window; it is stored once. Nothing more to do."),
    ),
    413: (
        _l("Too large"),
        _l("What you sent is larger than this portal accepts. Send smaller or fewer attachments, or shorter text."),
    ),
    507: (
        _l("No room"),
        _l("The portal has no room for uploads right now. Nothing you sent was kept; try again later."),
    ),
    429: (_l("Too many requests"), _l("The portal is busy. Please wait a few minutes and try again.")),
    500: (_l("Something went wrong"), _l("The portal could not handle this request. Nothing you sent was kept.")),
    503: (_l("Busy"), _l("The portal is busy. Please wait a minute and try again.")),
}
RETRY_AFTER = "60"  # seconds, on every 503: the portal was busy, or its database being upgraded

# Each domain failure that reaches this far, as the status its page has. Views answer the ones
# they can explain better (a flash message, a form error) before they get here.
STATUS_FOR = {
    domain.Busy: 503,
    domain.TooLarge: 413,
    domain.DiskFull: 507,
    domain.AlreadyAdopted: 409,
    domain.CutOff: 400,
    domain.NotFound: 404,
    domain.TransitionRefused: 400,
    domain.UploadRefused: 400,
    domain.SignInFailed: 403,
    domain.NotInitialised: 503,
    domain.SchemaBehind: 503,
}

CSRF = (
    _l("The form has expired"),
    _l("For your protection, forms expire. Go back, reload the page and send it again."),
)


def render_error(code: int, title, message):
    return render_template("errors/error.html", code=code, title=title, message=message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render_error(400, *CSRF)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        return _page(error.code or 500, error)

    @app.errorhandler(domain.DomainError)
    def _domain(error: domain.DomainError):
        code = next((code for kind, code in STATUS_FOR.items() if isinstance(error, kind)), 500)
        if code == 500:
            return _unexpected(error)
        return _page(code)

    def log_unexpected(error: BaseException) -> None:
        endpoint = request.endpoint if has_request_context() else None
        inner = _original(error)
        # The driver's class and SQLSTATE behind a database error, never its message.
        state = getattr(inner, "sqlstate", None)
        cause = f" ({type(inner).__module__}.{type(inner).__name__}{f' {state}' if state else ''})"
        app.logger.error(
            "unhandled %s in %s%s\n%s",
            type(error).__name__,
            endpoint,
            cause if inner is not error else "",
            _frames(error),
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if _unreadable_body(error) or _unstorable_text(error):  # the client's fault
            return render_error(400, *MESSAGES[400])
        if _database_busy(error) or _shared_store_down(error):  # busy or away for a moment, not broken
            # One line, the class only: an operator sees a database or Redis that keeps failing.
            endpoint = request.endpoint if has_request_context() else None
            app.logger.warning("503 in %s: %s", endpoint, _original(error).__class__.__name__)
            return _page(503)
        log_unexpected(error)
        return render_error(500, *MESSAGES[500])

    # Flask's own log line for errors no handler reached (in after_request, in saving the session,
    # in an error handler) names the path and prints the message; ours names neither. Its other
    # lines with an exception attached ("Request finalizing failed …") lose the message the same way.
    app.log_exception = lambda exc_info: log_unexpected(exc_info[1])
    app.logger.addFilter(_without_exception_messages)

    app.register_error_handler(InternalServerError, lambda e: render_error(500, *MESSAGES[500]))


def _original(error: BaseException) -> BaseException:
    """The driver's exception behind peewee's: its first argument, or (on connecting) the one it
    was raised while handling; peewee may wrap its own once more (a query that connects)."""
    for _ in range(4):
        if type(error).__module__ != "peewee":
            return error
        inner = error.args[0] if error.args and isinstance(error.args[0], BaseException) else None
        inner = inner or error.__cause__ or error.__context__
        if inner is None:
            return error
        error = inner
    return error


# PostgreSQL's answers that mean "not now": the connection failed or was cut (class 08), the
# server is shutting down or starting (57P01-57P03). Anything else is a bug or a configuration
# fault and stays a 500 with its traceback in the log.
_GONE = ("08", "57P01", "57P02", "57P03")


def _database_busy(error: BaseException) -> bool:
    """SQLite's lock held past the busy timeout (`meldpunt purge` rewriting the file), or a database
    server that cannot be reached or dropped the connection (PostgreSQL restarting): the request
    gets the 503 with Retry-After that says "try again", and nothing of it was stored (its
    transaction never committed). The next request opens a new connection."""
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    if is_sqlite():
        return isinstance(error, OperationalError) and "locked" in str(error)
    inner = _original(error)
    if not type(inner).__module__.startswith("psycopg"):
        return False  # peewee's own complaint (an unbound query): a bug
    state = getattr(inner, "sqlstate", None)
    return state is None or state.startswith(_GONE)  # None: the client could not reach the server


def _shared_store_down(error: BaseException) -> bool:
    """Redis (the limits' shared store) cannot be reached or answer in time: a limited request
    fails closed, as a 503 that says "try again" (app/web/limits.py). A wrong password or a full
    Redis is a configuration fault, a 500 in the log."""
    try:
        from redis.exceptions import AuthenticationError, BusyLoadingError, ConnectionError, TimeoutError  # noqa: A004
    except ImportError:  # without the `redis` extra there is no Redis to be down
        return False
    gone = (BusyLoadingError, ConnectionError, TimeoutError)
    return isinstance(error, gone) and not isinstance(error, AuthenticationError)


def _unstorable_text(error: BaseException) -> bool:
    """A NUL character in text PostgreSQL was asked to store or compare (a reference in the path, a
    form field): its text type cannot hold one, and nothing else could mean it. SQLite takes it."""
    return isinstance(error, DataError) and "cannot contain NUL" in str(error)


def _unreadable_body(error: BaseException) -> bool:
    """gunicorn raises its own parse errors from the request body as the form reads it."""
    return type(error).__module__.startswith("gunicorn.http")


def _without_exception_messages(record) -> bool:
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        record.msg = f"{record.getMessage()} ({type(error).__name__})\n{_frames(error)}"
        record.args = ()
        record.exc_info = None
        record.exc_text = None
    return True


def _frames(error: BaseException) -> str:
    """Where it happened: the traceback's frames (file, line, function, source line), without the
    exception's message or any local value, either of which may hold what a visitor sent. The
    endpoint names the view without its path."""
    return "Traceback (most recent call last):\n" + "".join(traceback.format_tb(error.__traceback__)).rstrip()


def _page(code: int, error: HTTPException | None = None):
    if code in (413, 507):  # refused for its size: read the rest so the browser sees the page
        _drain()
    # A status without a text of ours gets the general one of its class, translated, never
    # Werkzeug's English name and description (tests/test_pseudo_locale.py).
    title, message = MESSAGES.get(code, MESSAGES[400 if code < 500 else 500])
    response = render_error(code, title, message)
    if code == 503:
        return (*response, {"Retry-After": RETRY_AFTER})
    return response


def _drain() -> None:
    """Read the rest of an oversized request so the client can read our answer.

    If parsing had begun, the body was within MAX_CONTENT_LENGTH and is read to its end; if it was
    refused up front for its declared length, at most DRAIN_LIMIT is read.
    """
    stream = request.__dict__.get("stream")  # werkzeug's cached, length-limited stream
    remaining = request.content_length or 0
    if stream is None:
        if request.content_length is None:
            return
        stream = LimitedStream(request.environ["wsgi.input"], request.content_length)
        remaining = min(remaining, DRAIN_LIMIT)
    try:
        while remaining > 0:
            data = stream.read(min(remaining, 1024 * 1024))
            if not data:
                break
            remaining -= len(data)
    except Exception:  # noqa: BLE001, S110  (a vanished client leaves nothing to drain)
        pass
