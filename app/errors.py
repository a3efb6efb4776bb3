"""Error pages in the visitor's language. Never a traceback, never a reset connection."""

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wsgi import LimitedStream

# Enough to drain a slightly oversized upload so the browser gets the 413 page instead of a reset;
# a client sending far more than the limit is cut off.
DRAIN_LIMIT = 64 * 1024 * 1024

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("This page does not exist. Check the address, or start from the home page.")),
    405: (_l("Not allowed"), _l("This page cannot be used this way.")),
    413: (
        _l("Too large"),
        _l("What you sent is larger than this portal accepts. Send smaller or fewer attachments, or shorter text."),
    ),
    429: (_l("Too many requests"), _l("The portal is busy. Please wait a few minutes and try again.")),
    500: (_l("Something went wrong"), _l("The portal could not handle this request. Nothing you sent was kept.")),
    503: (_l("Busy"), _l("The portal is busy. Please wait a minute and try again.")),
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
        if error.code == 413:
            _drain()
        title, message = MESSAGES.get(error.code, (error.name, error.description))
        return render_error(error.code or 500, title, message)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.error("unhandled %s at %s", type(error).__name__, request.endpoint)
        return render_error(500, *MESSAGES[500])

    app.register_error_handler(InternalServerError, lambda e: render_error(500, *MESSAGES[500]))


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
    except Exception:  # noqa: BLE001  (a vanished client leaves nothing to drain)
        pass
