"""Against gunicorn with the shipped configuration: what a browser sees over a real socket."""

import http.client
import sys
from pathlib import Path

import pytest

from .served import form, gunicorn

pytestmark = pytest.mark.slow  # each test starts the real gunicorn

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    limits = {"MELDPUNT_MAX_UPLOAD_BYTES": str(1024 * 1024), "MELDPUNT_MAX_TEXT_CHARS": "10000"}
    with gunicorn(tmp_path_factory.mktemp("served"), **limits) as (port, log, _master):
        yield port, log


def _post_upload(port: int, size: int) -> tuple[int, str]:
    cookie, token = form(port)
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="big.bin"\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.putrequest("POST", "/report?lang=nl")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.putheader("Cookie", cookie)
    conn.endheaders()
    conn.send(head)
    block = bytes(64 * 1024)
    for _ in range(size // len(block)):
        conn.send(block)  # a reset connection would raise here or below
    conn.send(tail)
    response = conn.getresponse()
    return response.status, response.read().decode()


@pytest.mark.parametrize("size", [2 * 1024 * 1024, 8 * 1024 * 1024], ids=["over-the-budget", "over-the-declared-limit"])
def test_oversized_upload_gets_a_translated_413_page_not_a_reset(server, size):
    port, _ = server
    status, page = _post_upload(port, size)
    assert status == 413
    assert "Te groot" in page


def test_shipped_gunicorn_config_logs_no_requests(server):
    port, log = server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/policy", headers={"User-Agent": "MarkerAgent/1.0", "X-Forwarded-For": "198.51.100.7"})
    assert conn.getresponse().status == 200
    text = log.read_text()
    assert "MarkerAgent" not in text
    assert "198.51.100.7" not in text
    assert "127.0.0.1" not in text
    assert "GET /policy" not in text
