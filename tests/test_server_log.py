"""gunicorn's own log, attacked: malformed requests over a raw socket to the real gunicorn with the
shipped configuration, then its whole output searched for the client's address and for every
marker sent in a path, query or header. Then `ServerLog`'s rewrites one by one."""

import io
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gunicorn.config import Config
from gunicorn.http.errors import InvalidRequestLine, LimitRequestHeaders, NoMoreData

from app.web.server_log import RequestFree, ServerLog

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
SERVER, CLIENT = "127.0.0.2", "127.0.0.3"  # both loopback: the client's address is then unmistakable
MARK = "zqx"  # in every path, query and header sent; never in the log, in any case
# The shipped app, with one path whose exception escapes into gunicorn, as a failure while a
# response streams would: gunicorn's own "Error handling request <method> <uri>" line.
ESCAPE = """from wsgi import app as portal


def app(environ, start_response):
    if environ["PATH_INFO"].startswith("/escape"):
        raise RuntimeError("escaped from " + environ["RAW_URI"])
    return portal(environ, start_response)
"""
HOST = b"Host: portal.test\r\nConnection: close\r\n"
ATTACKS = {
    # what gunicorn refuses itself, and the kind our log names instead of quoting the request
    "malformed request line": b"GET /zqx-line\rX HTTP/1.1\r\n\r\n",
    "unsupported HTTP version": b"GET /zqx-version?zqx-query HTTP/9.9\r\n\r\n",
    "headers too large or too many": b"GET /zqx-long HTTP/1.1\r\nX-Zqx: " + b"a" * 9000 + b"\r\n\r\n",
    "invalid header name": b"GET /zqx-name HTTP/1.1\r\nBad Zqx-Name: zqx-value\r\n\r\n",
    "request line too long": b"GET /zqx-uri" + b"m" * 9000 + b" HTTP/1.1\r\n\r\n",
    "folded header line": b"GET /zqx-fold HTTP/1.1\r\nX-A: a\r\n zqx-folded\r\n\r\n",
    "unsupported transfer coding": b"POST /zqx-coding HTTP/1.1\r\nTransfer-Encoding: zqx\r\n" + HOST + b"\r\n",
}
REACHES_THE_APP = [
    # a path that decodes to a line break or to a non-Latin-1 character (Onion-Location is set)
    b"GET /zqx-crlf%0D%0AX-Zqx:%20injected?zqx HTTP/1.1\r\n" + HOST + b"\r\n",
    b"GET /zqx-euro%E2%82%AC?zqx=%E2%82%AC HTTP/1.1\r\n" + HOST + b"\r\n",
    # a body that breaks off in the chunked framing while the view reads the form
    b"POST /logout?zqx-chunked HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\n" + HOST + b"\r\nzqx\r\n",
    # an exception that escapes the app into gunicorn
    b"GET /escape/zqx-escape?zqx HTTP/1.1\r\n" + HOST + b"\r\n",
    # a normal page, with every header that could identify a visitor
    b"GET /policy?zqx-policy HTTP/1.1\r\nUser-Agent: zqx-agent\r\nReferer: https://zqx-referer.example/\r\n"
    b"Accept-Language: zqx\r\nX-Forwarded-For: 198.51.100.7\r\nCookie: zqx=1\r\n" + HOST + b"\r\n",
]


@pytest.fixture(scope="module", params=["warning", "debug"])
def served(request, tmp_path_factory):
    """The shipped gunicorn.conf.py as is, and again at debug level, where gunicorn itself would
    log every method and path."""
    from crypto import PrivateKey

    instance = tmp_path_factory.mktemp("served")
    (instance / "escape.py").write_text(ESCAPE)
    env = {
        **os.environ,
        "MELDPUNT_INSTANCE": str(instance),
        "MELDPUNT_WORKERS": "1",
        "MELDPUNT_ONION_ADDRESS": "http://example2abc.onion",
    }
    init = [BIN / "meldpunt", "init", "--dev", "--team-key", str(PrivateKey.generate().public)]
    subprocess.run(init, env=env, check=True, capture_output=True)
    with socket.socket() as sock:
        sock.bind((SERVER, 0))
        port = sock.getsockname()[1]
    log = instance / "gunicorn.log"
    command = [BIN / "gunicorn", "-c", ROOT / "gunicorn.conf.py", "--bind", f"{SERVER}:{port}"]
    command += ["--log-level", request.param, "--pythonpath", f"{instance},{ROOT}", "escape:app"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            socket.create_connection((SERVER, port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port, instance, process
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=10)


def _send(port: int, data: bytes) -> bytes:
    """Send `data` from the client address, read the answer until the server closes; its status line."""
    with socket.create_connection((SERVER, port), timeout=10, source_address=(CLIENT, 0)) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


def _break_the_database(instance: Path) -> None:
    """Every view that opens the database fails from now on (a disk error, say)."""
    junk = instance / "junk"
    junk.write_bytes(b"not a database " * 1000)
    os.replace(junk, instance / "meldpunt.db")


@pytest.mark.slow
def test_gunicorn_logs_no_address_path_query_or_header(served):
    port, instance, process = served
    for data in ATTACKS.values():
        assert _send(port, data).split(b" ")[1][:1] in (b"4", b"5")  # refused, whatever the code
    statuses = [_send(port, data) for data in REACHES_THE_APP]
    assert statuses[0].startswith(b"HTTP/1.1 404")
    assert statuses[1].startswith(b"HTTP/1.1 404")
    assert statuses[-1].startswith(b"HTTP/1.1 200")
    _break_the_database(instance)
    assert _send(port, b"GET /hall-of-fame?zqx-broken HTTP/1.1\r\n" + HOST + b"\r\n").startswith(b"HTTP/1.1 500")
    process.terminate()
    process.wait(timeout=10)

    text = (instance / "gunicorn.log").read_text(errors="replace")
    assert CLIENT not in text
    assert MARK not in text.lower()
    assert "198.51.100.7" not in text
    assert "%E2%82%AC" not in text.upper()
    assert "€" not in text
    # What the operator needs is still there: what was refused and why, and where a request failed.
    for kind in ATTACKS:
        assert f"invalid request refused ({kind})" in text
    assert "error handling a request\nTraceback (most recent call last):" in text
    assert "unhandled DatabaseError in reporter.hall_of_fame" in text


# --- the rewrites, one by one -------------------------------------------------------------------


@pytest.fixture
def logged():
    """A logger with `RequestFree` on it, as gunicorn's error log has; returns what it wrote."""
    stream = io.StringIO()
    logger = logging.getLogger("tests.server_log")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.addFilter(RequestFree())
    yield logger, stream.getvalue
    logger.removeHandler(handler)
    logger.filters.clear()


def test_a_refused_request_is_named_by_its_kind(logged):
    logger, output = logged
    try:
        raise InvalidRequestLine("GET /zqx HTTP/1.1 extra")
    except InvalidRequestLine as error:
        logger.warning(f"Invalid request from ip=198.51.100.7: {error}")
    try:
        raise LimitRequestHeaders("zqx")
    except LimitRequestHeaders as error:
        logger.warning(f"Invalid request from ip=2001:db8::7: {error}")
    try:
        raise KeyError("zqx")  # a kind we have no words for: its class
    except KeyError as error:
        logger.warning(f"Invalid request from ip=198.51.100.7: {error}")
    logger.warning("Invalid request from ip=198.51.100.7: zqx")  # outside the except block
    assert output().splitlines() == [
        "invalid request refused (malformed request line)",
        "invalid request refused (headers too large or too many)",
        "invalid request refused (KeyError)",
        "invalid request refused (malformed request)",
    ]


def test_a_failed_request_keeps_its_frames_not_its_path_or_message(logged):
    logger, output = logged
    sent = MARK + " from the request"  # a variable: the traceback shows the source line
    try:
        raise RuntimeError(sent)
    except RuntimeError:
        logger.exception("Error handling request %s %s", "GET", "/zqx")
    lines = output().splitlines()
    assert lines[:2] == ["error handling a request", "Traceback (most recent call last):"]
    assert lines[-1] == "RuntimeError"
    assert "test_a_failed_request_keeps_its_frames" in output()
    assert MARK not in output()


def test_a_traceback_with_a_percent_sign_in_its_source(logged):
    logger, output = logged
    try:
        raise LimitRequestHeaders("%s %d" % ("zqx", 1))  # noqa: UP031  (the "%" is the point)
    except LimitRequestHeaders:
        logger.exception("Socket error in %s.", "a worker")
    assert output().startswith("Socket error in a worker.\nTraceback")
    assert output().rstrip().endswith("LimitRequestHeaders")


def test_the_default_pre_request_line_and_exception_arguments(logged):
    logger, output = logged
    logger.debug("%s %s", "GET", "/zqx")  # gunicorn's default pre_request hook
    logger.debug("Ignored premature client disconnection. %s", NoMoreData(b"GET /zqx"))
    logger.debug("Closing connection. %s", ConnectionResetError(104, "zqx"))
    logger.info("Booting worker with pid: %s", 4242)
    assert output().splitlines() == [
        "Ignored premature client disconnection. NoMoreData",
        "Closing connection. ConnectionResetError (ECONNRESET)",
        "Booting worker with pid: 4242",
    ]


def test_a_worker_that_cannot_boot_says_why(logged):
    """No request is involved, and the message is what tells the operator what to fix."""
    logger, output = logged
    try:
        raise ValueError("MELDPUNT_TIMEZONE 'Mars/Olympus' is not a time zone name")
    except ValueError:
        logger.exception("Exception in worker process")
    assert output().rstrip().endswith("ValueError: MELDPUNT_TIMEZONE 'Mars/Olympus' is not a time zone name")


def test_no_access_log_even_when_asked_for(capsys):
    config = Config()
    config.set("accesslog", "-")
    log = ServerLog(config)
    assert not log.access_log_enabled
    log.access(None, None, {"REMOTE_ADDR": CLIENT, "RAW_URI": "/zqx"}, None)
    assert any(isinstance(item, RequestFree) for item in logging.getLogger("gunicorn.error").filters)
    out, err = capsys.readouterr()
    assert CLIENT not in out + err
    assert "access log requested but not written" in out + err
