"""gunicorn's own log lines, without anything a visitor sent.

gunicorn's stock logger names the client's address and quotes the line that failed to parse
("Invalid request from ip=…: Invalid HTTP request line: 'GET /…'"), names the method and path when
a request fails ("Error handling request GET /…"), and at debug level its default `pre_request`
hook logs every method and path. `ServerLog`, the `logger_class` in gunicorn.conf.py, keeps what an
operator needs (a malformed request was refused and why; a request failed, and where in the code)
and drops the rest: no address, path, query, header or request line in any line, at any level.
The access log stays off whatever the configuration says.

Imports no Flask: gunicorn's master process loads this module before any app (docs/deployment.md).
"""

import errno
import logging
import sys
import traceback

from gunicorn.glogging import Logger

# What was wrong with a refused request, named by gunicorn's exception class: the kind, never the
# exception's text, which quotes the request line, the header or the bytes that failed.
REFUSED = {
    "InvalidRequestLine": "malformed request line",
    "InvalidRequestMethod": "invalid method",
    "InvalidHTTPVersion": "unsupported HTTP version",
    "InvalidHeader": "invalid header",
    "InvalidHeaderName": "invalid header name",
    "ObsoleteFolding": "folded header line",
    "LimitRequestLine": "request line too long",
    "LimitRequestHeaders": "headers too large or too many",
    "UnsupportedTransferCoding": "unsupported transfer coding",
    "InvalidChunkSize": "malformed chunked body",
    "ChunkMissingTerminator": "malformed chunked body",
    "InvalidChunkExtension": "malformed chunked body",
    "ExpectationFailed": "unsupported Expect header",
    "InvalidProxyLine": "malformed PROXY line",
    "InvalidProxyHeader": "malformed PROXY header",
    "ForbiddenProxyRequest": "PROXY line from an address not allowed to send one",
    "InvalidSchemeHeaders": "contradicting scheme headers",
    "InvalidH2CPreface": "malformed HTTP/2 preface",
    "SSLError": "TLS handshake failed",
}
# The only tracebacks printed with their exception's message: a worker that cannot boot (a missing
# team key, a bad setting; the message says what to fix) and the master's own loop. Neither handles
# a request. Every other traceback gets the exception's class and frames only.
KEEP_MESSAGE = ("Exception in worker process", "Unhandled exception in main loop")


class RequestFree(logging.Filter):
    """Rewrites each record on gunicorn's error log before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.msg if isinstance(record.msg, str) else ""
        if text.startswith("Invalid request from ip="):  # formatted already: address and request
            record.msg, record.args = "invalid request refused (%s)", (_refusal(),)
        elif text.startswith("Error handling request"):  # followed by the method and the path
            record.msg, record.args = "error handling a request", ()
        elif text == "%s %s" and record.levelno == logging.DEBUG:  # the default pre_request hook
            return False
        elif not isinstance(record.msg, str):  # `log.exception(error)`: the message is the error
            record.msg, record.args = "%s", (_kind(record.msg),)
        # An exception passed as an argument ("Closing connection. %s") prints as its class only.
        if isinstance(record.args, tuple):
            record.args = tuple(_kind(arg) if isinstance(arg, BaseException) else arg for arg in record.args)
        if record.exc_info and record.exc_info[1] is not None and not text.startswith(KEEP_MESSAGE):
            # Formatted here (source lines may hold a "%"), and no longer an exception for handlers.
            record.msg, record.args = f"{record.getMessage()}\n{_frames(record.exc_info[1])}", ()
            record.exc_info = None
        return True


def _refusal() -> str:
    """gunicorn logs a refusal inside its `except` block, so the exception is at hand."""
    error = sys.exc_info()[1]
    if error is None:
        return "malformed request"
    return next((REFUSED[kind.__name__] for kind in type(error).__mro__ if kind.__name__ in REFUSED), _kind(error))


def _kind(error: BaseException) -> str:
    """The class (and for an OS error its errno name), which says what failed without the text."""
    code = getattr(error, "errno", None)
    name = errno.errorcode.get(code) if isinstance(code, int) else None
    return f"{type(error).__name__} ({name})" if name else type(error).__name__


def _frames(error: BaseException) -> str:
    """The traceback as Python prints it, except for the last line's message."""
    return "Traceback (most recent call last):\n" + "".join(traceback.format_tb(error.__traceback__)) + _kind(error)


class ServerLog(Logger):
    """gunicorn's logger with `RequestFree` on its error log and no access log at all."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        # On the logger, not a handler: every record passes, whatever handlers a log
        # configuration adds; setup runs again on reload, so add it once.
        if not any(isinstance(item, RequestFree) for item in self.error_log.filters):
            self.error_log.addFilter(RequestFree())
        if cfg.accesslog:
            self.error_log.warning("access log requested but not written: it would name every visitor")
        self._access_log_enabled = False  # gunicorn then skips building the access line at all

    def access(self, *_request) -> None:  # (response, request, environ, request_time)
        """An access line holds the address, the request line, the referrer and the browser."""
