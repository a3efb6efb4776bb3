"""Slow clients cannot starve the portal (issue 9, point 2): Debian's nginx with the shipped
deploy/nginx files, as they are, in front of the real gunicorn with the shipped configuration.
Slow headers and bodies do not stop the pages, uploads still pass, nothing reaches nginx's disk or
logs, and nginx holds each route to the body its view takes (from the app's URL map). The same
slow clients straight at gunicorn, as the former onion setup had it, stop every page."""

import contextlib
import html
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from crypto import Meta, PublicKey, seal_bytes

from .served import NGINX, ROOT, Trickle, gunicorn, nginx

pytestmark = pytest.mark.slow

CLIENT = "127.0.0.3"  # every client of these tests comes from here: unmistakable in a log
PAGES = ["/", "/policy", "/report"]
SLOW = 24  # slow-header and as many slow-body connections: 48, against 2 × 8 gunicorn threads
# Their first connections spread over two seconds: opened all at once, one gunicorn worker often
# accepts every one of them, and the other keeps serving until the clients come back.
RAMP = 2.0
UNLIMITED = {f"MELDPUNT_LIMIT_{name}": "1000000 per minute" for name in ("SUBMIT", "LOGIN", "UPLOAD")}
UNLIMITED |= {f"{name}_PER_ADDRESS": value for name, value in UNLIMITED.items()}
SETTINGS = {"MELDPUNT_WORKERS": "2", "MELDPUNT_POW_BITS": "0", **UNLIMITED}  # 2 × 8: the shipped setup


def require_nginx() -> None:
    if not os.path.exists(NGINX):
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: .ci/run must install it (apt-get install nginx)")
        pytest.skip("nginx is not installed (apt-get install nginx)")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """gunicorn behind nginx; yields (nginx's port, nginx's folder, the portal's instance)."""
    require_nginx()
    folder = tmp_path_factory.mktemp("stack")
    (folder / "instance").mkdir()
    with (
        gunicorn(folder / "instance", **SETTINGS) as (upstream, _log, _master),
        nginx(folder / "nginx", upstream) as (port, _process),
    ):
        yield port, folder / "nginx", folder / "instance"


class Visitor:
    """One browser, through nginx: keeps its cookies as each answer sets them again."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, body=None, headers=None, timeout: float = 60, pause: float = 0):
        """`pause`: seconds to wait before reading the answer's body, as a slow client would."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout, source_address=(CLIENT, 0))
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        conn.request(method, path, body, {**({"Cookie": cookie} if cookie else {}), **(headers or {})})
        response = conn.getresponse()
        time.sleep(pause)
        data = response.read()
        conn.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";")[0]
        return response, data

    def token(self, path: str) -> str:
        return self.form(path)[1]

    def form(self, path: str) -> tuple[str, str]:
        """The address the page's file form posts to, and its CSRF token."""
        _response, page = self.request("GET", path)
        text = page.decode()
        forms = [tag for tag in re.findall(r"<form[^>]*>", text) if "multipart/form-data" in tag] or [""]
        action = re.search(r'action="([^"]*)"', forms[0])
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text).group(1)
        return html.unescape(action.group(1)) if action and action.group(1) else path, token

    def post_form(self, path: str, fields: dict, files=()):
        boundary = uuid.uuid4().hex
        body = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        )
        for field, name, content in files:
            body += f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'.encode()
            body += b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
        body += f"--{boundary}--\r\n".encode()
        return self.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def post(self, path: str, fields, headers=None):
        encoded = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", path, urlencode(fields, doseq=True), encoded)


def page_times(port: int, rounds: int = 4) -> list[tuple[int | str, float]]:
    """Every page `rounds` times, six at once: (status or the error's name, seconds) each."""

    def fetch(path: str) -> tuple[int | str, float]:
        start = time.monotonic()
        try:
            response, _page = Visitor(port).request("GET", path, timeout=5)
            return response.status, time.monotonic() - start
        except OSError as error:
            return type(error).__name__, time.monotonic() - start

    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(fetch, PAGES * rounds))


def test_slow_clients_do_not_stop_the_pages_behind_nginx(stack):
    port, _folder, _instance = stack
    with Trickle(port, headers=SLOW, bodies=SLOW, ramp=RAMP, source=CLIENT) as slow:
        answers = page_times(port)
        held = slow.held
    assert [status for status, _seconds in answers] == [200] * len(answers)
    assert max(seconds for _status, seconds in answers) < 2
    assert held == 2 * SLOW  # nginx keeps every slow client waiting, and none of gunicorn's threads


def test_the_same_slow_clients_stop_gunicorn_alone(tmp_path):
    """The reproduction: with Tor (or anyone) connected straight to gunicorn, 16 slow clients hold
    its 2 × 8 threads and no page is answered. This is why the onion service points at nginx."""
    (tmp_path / "instance").mkdir()
    with gunicorn(tmp_path / "instance", **SETTINGS) as (port, _log, _master):
        assert page_times(port, rounds=1)[0][0] == 200
        with Trickle(port, headers=SLOW, bodies=SLOW, ramp=RAMP):
            answers = page_times(port, rounds=1)
    assert [status for status, _seconds in answers] == ["TimeoutError"] * len(answers)


@pytest.fixture
def no_temporary_files(stack):
    """nginx's folders for temporary files replaced by plain files for the test: a request body or
    an answer that nginx tried to spool to disk would fail (500) instead of passing."""
    _port, folder, _instance = stack
    for name in ("client_body", "proxy"):
        (folder / name).rmdir()
        (folder / name).write_text("not a folder\n")
    yield
    for name in ("client_body", "proxy"):
        (folder / name).unlink()
        (folder / name).mkdir(mode=0o700)


def passphrase(page: bytes) -> str:
    words = re.findall(r"<span>([a-z]+)</span>", page.decode())
    assert len(words) == 7, page.decode()
    return " ".join(words)


def test_a_report_without_javascript_and_a_follow_up_pass_through_nginx(stack, no_temporary_files):
    port, _folder, _instance = stack
    visitor = Visitor(port)
    address, token = visitor.form("/report")
    fields = {"csrf_token": token, "accept_policy": "y", "title": "Via nginx"}
    fields |= {"system": "www.example.nl", "description": "Streamed through nginx."}
    response, page = visitor.post_form(address, fields, [("attachments", "poc.bin", os.urandom(3 << 20))])
    assert response.status == 200, page
    sign_in = {"csrf_token": visitor.token("/replies"), "passphrase": passphrase(page)}
    response, _page = visitor.post("/replies", sign_in)
    assert response.status == 302
    attachment = os.urandom(5 << 20)  # larger than nginx keeps of an answer: the download streams
    address, token = visitor.form("/mailbox")
    follow_up = {"csrf_token": token, "message": "A larger proof."}
    response, _page = visitor.post_form(address, follow_up, [("attachments", "more.bin", attachment)])
    assert response.status == 302
    _response, mailbox = visitor.request("GET", "/mailbox")
    download = re.search(r'href="(/mailbox/files/\d+)"', mailbox.decode()).group(1)
    response, data = visitor.request("GET", download, pause=2)  # nginx's buffers fill up meanwhile
    assert response.status == 200
    assert data == attachment


def test_a_report_sealed_in_the_browser_passes_in_parts_through_nginx(stack, no_temporary_files):
    port, _folder, instance = stack
    team = PublicKey.parse(re.search(r"mpk1[a-z2-7]+", (instance / "meldpunt.toml").read_text()).group(0))
    visitor = Visitor(port)
    token = visitor.token("/report")

    def upload(envelope: bytes) -> str:
        form = {"purpose": "report", "size": len(envelope), "pow": ""}
        response, answer = visitor.post("/uploads", form, {"X-CSRFToken": token})
        assert response.status == 200, answer
        handle = json.loads(answer)["id"]
        for number, offset in enumerate(range(0, len(envelope), 4 << 20)):  # a whole part: 4 MiB
            headers = {"X-CSRFToken": token, "Content-Type": "application/octet-stream"}
            part = envelope[offset : offset + (4 << 20)]
            response, answer = visitor.request("PUT", f"/uploads/{handle}/{number}", part, headers)
            assert response.status == 200, answer
        return handle

    attachment = upload(seal_bytes(os.urandom(6 << 20), [team], Meta("attachment", name="poc.bin")))
    report = upload(seal_bytes(b'{"title": "Sealed in the browser"}', [team], Meta("report")))
    fields = {"csrf_token": token, "accept_policy": "y", "sealed": report, "sealed_attachments": [attachment]}
    response, page = visitor.post("/report", fields)
    assert response.status == 200, page
    passphrase(page)


def _example(rule) -> str:
    """A path for a URL rule, with a made-up value for each argument."""
    return re.sub(r"<(?:int:)?(\w+)>", lambda found: "1" if "int:" in found.group(0) else "MP-AAAA-AAAA", rule.rule)


def _answer(port: int, method: str, path: str, length: int, send: int) -> tuple[int, bytes]:
    """Headers declaring a body of `length` bytes, then `send` of them; nginx's answer, read up to
    its end (nginx would wait a few seconds for the rest of a refused body before closing)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(CLIENT, 0)) as sock:
        head = f"{method} {path} HTTP/1.1\r\nHost: meldpunt\r\nConnection: close\r\nContent-Length: {length}\r\n"
        sock.sendall(f"{head}Content-Type: application/octet-stream\r\n\r\n".encode())
        answer = b""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"a" * send)  # nginx may refuse and close before the body is all sent
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


def _length(answer: bytes) -> int:
    found = re.search(rb"\r\ncontent-length: *(\d+)", answer.partition(b"\r\n\r\n")[0], re.IGNORECASE)
    return int(found.group(1)) if found else 1 << 30


def _nginx_refused(answer: bytes) -> bool:
    return b"<center>nginx</center>" in answer


def test_nginx_holds_each_route_to_the_body_its_view_takes(stack, portal):
    """From the app's URL map, so a route added later is checked too: a route marked
    `accepts_uploads` gets past nginx with a body above 16 KiB, every other route does not (the
    team's typed reply, the one other form with long text, is let through up to 1300 KiB); and
    nginx's own limit for each kind of upload holds at one byte above it."""
    port, _folder, _instance = stack
    limits = {"stream": 2100 << 20, "part": 4 << 20, "reply": 1300 << 10, "small": 16 << 10}
    for rule in portal.url_map.iter_rules():
        view = portal.view_functions[rule.endpoint]
        for method in sorted(rule.methods & {"POST", "PUT"}):
            path = _example(rule)
            if getattr(view, "accepts_uploads", False):
                kind = "part" if method == "PUT" else "stream"
            else:
                kind = "reply" if rule.rule.endswith("/<reference>/reply") else "small"
            limit = limits[kind]
            status, answer = _answer(port, method, path, 64 << 10, 64 << 10)
            assert (status == 413 and _nginx_refused(answer)) == (kind == "small"), (method, path, status)
            status, answer = _answer(port, method, path, limit + 1, 0)
            assert status == 413, (method, path, kind)
            assert _nginx_refused(answer), (method, path, kind)


def test_streamed_uploads_and_parts_have_their_slots(stack):
    """The trade-off of streaming: a slow upload holds a gunicorn thread, so at most 6 at once; a
    seventh is refused (503) while the pages go on. Parts are held by nginx instead: 32 slow ones
    hold no thread, and a 33rd is refused."""
    port, _folder, _instance = stack
    with Trickle(port, bodies=6, paths=["/report"], source=CLIENT):
        assert _answer(port, "POST", "/report", 100, 0)[0] == 503
        assert [status for status, _seconds in page_times(port, rounds=2)] == [200] * 6
    with Trickle(port, bodies=32, paths=["/uploads/h/0", "/team/uploads/h/0"], source=CLIENT):
        assert _answer(port, "PUT", "/uploads/h/0", 100, 0)[0] == 503
        assert [status for status, _seconds in page_times(port, rounds=2)] == [200] * 6


def _ended_after(port: int, request: bytes, trickle: bool) -> float:
    """Seconds until nginx ends a connection that sent `request` and then a byte a second
    (`trickle`) or nothing."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=1, source_address=(CLIENT, 0)) as sock:
        sock.sendall(request)
        while time.monotonic() - start < 40:
            try:
                if not sock.recv(4096):
                    break
            except TimeoutError:
                if trickle:
                    sock.sendall(b"a")
            except ConnectionResetError:
                break
    return time.monotonic() - start


def test_slow_headers_and_stalled_bodies_are_cut_off(stack):
    """client_header_timeout bounds the whole header, however it trickles; client_body_timeout
    the pause within a body."""
    port, _folder, _instance = stack
    header = b"GET / HTTP/1.1\r\nHost: meldpunt\r\nX-Trickle: "
    body = b"POST /logout HTTP/1.1\r\nHost: meldpunt\r\nContent-Length: 100\r\n\r\na"
    with ThreadPoolExecutor(2) as pool:
        headers = pool.submit(_ended_after, port, header, True)
        bodies = pool.submit(_ended_after, port, body, False)
        assert 14 < headers.result() < 20
        assert 14 < bodies.result() < 20


def test_nothing_about_clients_reaches_nginx_logs(stack):
    """After everything above (and some more that nginx logs when it may: a malformed request, a
    body too large, a path and headers to look for), neither nginx's own log, at debug level, nor
    an access log names the client's address or anything it sent."""
    port, folder, _instance = stack
    mark = "zqx" + uuid.uuid4().hex[:8]
    requests = [
        f"GET /{mark}-path?{mark}-query HTTP/1.1\r\nHost: {mark}\r\nUser-Agent: {mark}-agent\r\n\r\n",
        f"{mark} GARBAGE\r\n\r\n",
        f"POST /{mark}-large HTTP/1.1\r\nHost: meldpunt\r\nContent-Length: 99999999\r\n\r\n",
        f"GET /{mark}-header HTTP/1.1\r\nHost: meldpunt\r\nX-Long: {'a' * 9000}\r\n\r\n",
    ]
    for request in requests:
        with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(CLIENT, 0)) as sock:
            sock.sendall(request.encode())
            sock.recv(65536)
    time.sleep(0.5)
    logs = {path.name: path.read_text() for path in folder.iterdir() if path.suffix == ".log"}
    assert logs["access.log"] == ""
    assert "start worker process" in logs["error.log"]  # the log is there, and written to
    for name, text in logs.items():
        for needle in (CLIENT, "client:", mark, "X-Trickle", "/logout", "/policy"):
            assert needle not in text, f"{name} names {needle}"


def test_the_shipped_site_uses_the_tested_files_and_tor_points_at_nginx():
    """meldpunt.conf (the part with certificates and fixed ports, which no test can start here)
    includes the tested files in every server that serves the portal, and the torrc's
    HiddenServicePort is its onion server's listener, not gunicorn's bind."""
    deploy = ROOT / "deploy"
    site = (deploy / "nginx" / "meldpunt.conf").read_text()
    for name in ("upstream.conf", "limits.conf"):
        assert f"\ninclude /etc/nginx/meldpunt/{name};" in site
    servers = site.split("\nserver {")[1:]
    portals = [server for server in servers if "include /etc/nginx/meldpunt/portal.conf;" in server]
    assert len(portals) == 2  # the clear web and the onion service; the third only redirects
    assert "proxy_pass" not in site
    onion = re.search(r"HiddenServicePort 80 (\S+)", (deploy / "tor" / "torrc").read_text()).group(1)
    assert f"listen {onion} default_server;" in portals[1]
    gunicorn_bind = re.search(r'"MELDPUNT_BIND", "([^"]+)"', (ROOT / "gunicorn.conf.py").read_text()).group(1)
    assert onion != gunicorn_bind
    assert f"server {gunicorn_bind};" in (deploy / "nginx" / "upstream.conf").read_text()


def test_the_shipped_torrc_is_valid_for_debians_tor(tmp_path):
    """Debian's Tor accepts deploy/tor/torrc as it is (only the service's folder is the test's)."""
    tor = shutil.which("tor")
    if tor is None:
        pytest.skip("Tor is not installed (apt-get install tor)")
    torrc = (ROOT / "deploy" / "tor" / "torrc").read_text().replace("/var/lib/tor/meldpunt/", f"{tmp_path}/service/")
    (tmp_path / "torrc").write_text(f"{torrc}DataDirectory {tmp_path}/data\n")
    result = subprocess.run(
        [tor, "--verify-config", "-f", tmp_path / "torrc"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout


def test_the_docs_show_the_shipped_torrc():
    """docs/deployment.md shows deploy/tor/torrc's settings as they are, none more or fewer."""
    docs = (ROOT / "docs" / "deployment.md").read_text()
    section = docs[docs.index("## As an onion service") :]
    block = section[section.index("```\n") + 4 : section.index("\n```", section.index("```\n") + 4)]
    torrc = (ROOT / "deploy" / "tor" / "torrc").read_text().splitlines()
    assert block.splitlines() == [line for line in torrc if line and not line.startswith("#")]
