"""Against gunicorn with the shipped configuration: what a browser sees over a real socket."""

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test starts the real gunicorn

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from crypto import PrivateKey

    instance = tmp_path_factory.mktemp("served")
    env = {
        **os.environ,
        "MELDPUNT_INSTANCE": str(instance),
        "MELDPUNT_MAX_UPLOAD_BYTES": str(1024 * 1024),
        "MELDPUNT_MAX_TEXT_CHARS": "10000",
        "MELDPUNT_WORKERS": "1",
    }
    subprocess.run(
        [BIN / "meldpunt", "init", "--dev", "--team-key", str(PrivateKey.generate().public)],
        env=env,
        check=True,
        capture_output=True,
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = instance / "gunicorn.log"
    process = subprocess.Popen(
        [BIN / "gunicorn", "-c", ROOT / "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port, log
    process.terminate()
    process.wait(timeout=10)


def _form(port: int) -> tuple[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/report")
    response = conn.getresponse()
    page = response.read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return response.getheader("Set-Cookie").split(";")[0], token


def _post_upload(port: int, size: int) -> tuple[int, str]:
    cookie, token = _form(port)
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
