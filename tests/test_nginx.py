"""Slow clients cannot starve the portal (issue 9, point 2): Debian's nginx with the shipped
deploy/nginx files, as they are, in front of the real gunicorn with the shipped configuration.
Slow headers and bodies do not stop the pages, uploads still pass, nothing reaches nginx's disk or
logs, and nginx holds each route to the body its view takes (from the app's URL map). The same
slow clients straight at gunicorn, as the former onion setup had it, stop every page.

nginx's own routing and counting are also tested in front of a stand-in for gunicorn (`Stub`):
which location takes a request, whether it is buffered or streamed, which counter it fills and
which it leaves alone, what goes to nginx's disk, and the pages nginx answers its limits with."""

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

from crypto import Meta, PrivateKey, PublicKey, seal_bytes

from .served import DEPLOY, NGINX, ROOT, Stub, Trickle, gunicorn, nginx, open_files, slow_readers, workers

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
    # Generous for a busy CI machine; straight at gunicorn not one page is answered within 5 s
    # (the next test), and nginx's own timeouts are 15 s.
    assert max(seconds for _status, seconds in answers) < 8
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
    assert b"data-passphrase" in _report_sealed_in_the_browser(port, instance)


def test_slow_uploads_without_javascript_do_not_stop_a_report_sealed_in_the_browser(stack):
    """Six slow streamed uploads fill their slots, and a seventh is refused; a report sealed in
    the browser still passes, because its parts and its final request (`POST /report/sealed`,
    buffered like any small form) are not counted with the streamed uploads."""
    port, _folder, instance = stack
    with Trickle(port, bodies=6, paths=["/report"], source=CLIENT) as slow:
        assert _answer(port, "POST", "/report", 100, 0)[0] == 503
        page = _report_sealed_in_the_browser(port, instance)
        held = slow.held
    assert held == 6
    assert b"data-passphrase" in page  # the browser fills in the words it made


def _report_sealed_in_the_browser(port: int, instance) -> bytes:
    """What the script does: two envelopes uploaded in parts, then the small request naming them.
    The page answering that request."""
    team = PublicKey.parse(re.search(r"mpk1[a-z2-7]+", (instance / "meldpunt.toml").read_text()).group(0))
    visitor = Visitor(port)
    token = visitor.token("/report")
    reporter = PrivateKey.generate()  # as the browser derives it
    identity = {"reporter_key": reporter.public.raw.hex(), "lookup_hash": os.urandom(32).hex()}

    def upload(envelope: bytes) -> str:
        form = {"purpose": "report", "size": len(envelope), "pow": "", "reporter_key": identity["reporter_key"]}
        response, answer = visitor.post("/uploads", form, {"X-CSRFToken": token})
        assert response.status == 200, answer
        handle = json.loads(answer)["id"]
        for number, offset in enumerate(range(0, len(envelope), 4 << 20)):  # a whole part: 4 MiB
            headers = {"X-CSRFToken": token, "Content-Type": "application/octet-stream"}
            part = envelope[offset : offset + (4 << 20)]
            response, answer = visitor.request("PUT", f"/uploads/{handle}/{number}", part, headers)
            assert response.status == 200, answer
        return handle

    recipients = [team, reporter.public]
    attachment = upload(seal_bytes(os.urandom(6 << 20), recipients, Meta("attachment", name="poc.bin")))
    report = upload(seal_bytes(b'{"title": "Sealed in the browser"}', recipients, Meta("report")))
    fields = {"csrf_token": token, "accept_policy": "y", "sealed": report, "sealed_attachments": [attachment]}
    fields |= identity
    response, page = visitor.post("/report/sealed", fields)
    assert response.status == 200, page
    return page


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


# nginx's own answers when it refuses: its pages, not the portal's (deploy/nginx/pages/).
NGINX_PAGES = DEPLOY / "pages"
BUSY = (NGINX_PAGES / "busy.html").read_bytes()
TOO_LARGE = (NGINX_PAGES / "too-large.html").read_bytes()


def _nginx_refused(answer: bytes) -> bool:
    """nginx's own 413, not the portal's."""
    return answer.endswith(b"\r\n\r\n" + TOO_LARGE)


def _textarea_fields() -> set[str]:
    """The names of the form fields that render as a textarea (WTForms' TextAreaField)."""
    from flask_wtf import FlaskForm
    from wtforms import TextAreaField

    forms, names = [FlaskForm], set()
    while forms:
        form = forms.pop()
        forms.extend(form.__subclasses__())
        names |= {
            name for name, value in vars(form).items() if issubclass(getattr(value, "field_class", type), TextAreaField)
        }
    return names


def _long_text_rules(portal) -> set[str]:
    """The URL rules that url-encoded forms with a textarea post to, found in templates/: a
    literal <textarea>, or a TextAreaField rendered by name. A textarea takes up to
    MELDPUNT_MAX_TEXT_CHARS (12 bytes each once percent-encoded), far more than location /'s
    16 KiB: every such route must be one of portal.conf's long-text locations. Multipart forms
    are the streamed uploads (their views are marked `accepts_uploads`). A form with a textarea
    whose action names no endpoint cannot be checked, and fails."""
    textareas = _textarea_fields()
    rules = set()
    for template in sorted((ROOT / "templates").rglob("*.html")):
        for form in re.findall(r"<form\b.*?</form>", template.read_text(), re.DOTALL):
            # `form.message`, or `forms.reply.message` where a page holds several forms
            rendered = (re.search(rf"\bforms?(\.\w+)?\.{name}\b", form) for name in textareas)
            if "<textarea" not in form and not any(rendered):
                continue
            if 'method="post"' not in form or "multipart/form-data" in form:
                continue
            action = re.search(r"""action="\{\{\s*(?:url_for|form_address)\(\s*["'](\w+\.\w+)["']""", form)
            assert action, f"{template.name}: a form with a textarea whose action names no endpoint"
            [rule] = [rule for rule in portal.url_map.iter_rules() if rule.endpoint == action.group(1)]
            assert "POST" in rule.methods, rule
            rules.add(rule.rule)
    return rules


def test_nginx_holds_each_route_to_the_body_its_view_takes(stack, portal):
    """From the app's URL map, so a route added later is checked too: a route marked
    `accepts_uploads` gets past nginx with a body above 16 KiB, and so does every route a form
    with a textarea posts to (found in the templates: the team's typed reply and its state change
    with a message), up to 1300 KiB; every other route does not. nginx's own limit for each kind
    holds at one byte above it, answered with nginx's own page."""
    port, _folder, _instance = stack
    limits = {"stream": 1100 << 20, "part": 4 << 20, "text": 1300 << 10, "small": 16 << 10}
    long_text = _long_text_rules(portal)
    assert {"/team/reports/<reference>/reply", "/team/reports/<reference>/state"} <= long_text
    for rule in portal.url_map.iter_rules():
        view = portal.view_functions[rule.endpoint]
        for method in sorted(rule.methods & {"POST", "PUT"}):
            path = _example(rule)
            if getattr(view, "accepts_uploads", False):
                kind = "part" if method == "PUT" else "stream"
            else:
                kind = "text" if rule.rule in long_text else "small"
            limit = limits[kind]
            status, answer = _answer(port, method, path, 64 << 10, 64 << 10)
            assert (status == 413 and _nginx_refused(answer)) == (kind == "small"), (method, path, status)
            status, answer = _answer(port, method, path, limit + 1, 0)
            assert status == 413, (method, path, kind)
            assert _nginx_refused(answer), (method, path, kind)


def test_streamed_uploads_and_parts_have_their_slots(stack):
    """The trade-off of streaming: a slow upload holds a gunicorn thread, so at most 6 at once; a
    seventh is refused (503) while the pages go on. Parts are held by nginx instead: 32 slow ones
    hold no thread, and a 33rd is refused, while the team's parts still reach the portal (which
    refuses them here: no team session)."""
    port, _folder, _instance = stack
    with Trickle(port, bodies=6, paths=["/report"], source=CLIENT):
        assert _answer(port, "POST", "/report", 100, 0)[0] == 503
        assert [status for status, _seconds in page_times(port, rounds=2)] == [200] * 6
    with Trickle(port, bodies=32, paths=["/uploads/h/0"], source=CLIENT):
        assert _answer(port, "PUT", "/uploads/h/0", 100, 0)[0] == 503
        status, answer = _answer(port, "PUT", "/team/uploads/h/0", 100, 100)
        assert status != 503, answer
        assert BUSY not in answer
        assert [status for status, _seconds in page_times(port, rounds=2)] == [200] * 6


# --- nginx's routing and counting, in front of a stand-in for gunicorn ---------------------------

REF = "MP-AAAA-AAAA"
# Each counter of limits.conf: how many requests it lets through at once (portal.conf), and the
# addresses it counts. The team's never share one with the public's.
COUNTERS = {
    "public streamed uploads": (6, ["/report", "/mailbox"]),
    "team reply files": (2, [f"/team/reports/{REF}/reply-file"]),
    "public parts": (32, ["/uploads/h/0"]),
    "team parts and long texts": (8, ["/team/uploads/h/0", f"/team/reports/{REF}/reply", f"/team/reports/{REF}/state"]),
    "reporters' downloads": (4, ["/mailbox/files/1", "/mailbox/envelopes/1"]),
    "team exports": (2, ["/team/export", f"/team/reports/{REF}/export"]),
}
DOWNLOADS = {"reporters' downloads", "team exports"}  # held by slow readers of the answer
# Requests no counter holds: pages, small forms, and the small requests the script sends once its
# parts are uploaded.
UNCOUNTED = [
    ("GET", "/"),
    ("GET", "/report"),
    ("GET", "/mailbox"),
    ("POST", "/logout"),
    ("POST", "/report/sealed"),
    ("POST", "/mailbox/sealed"),
    ("POST", f"/team/reports/{REF}/reply/sealed"),
]


@pytest.fixture(scope="module")
def routing(tmp_path_factory):
    """nginx with the shipped files in front of a Stub; yields (nginx's port, the stub, nginx's
    folder, nginx's master process)."""
    require_nginx()
    folder = tmp_path_factory.mktemp("routing")
    with Stub() as stub, nginx(folder / "nginx", stub.port) as (port, process):
        yield port, stub, folder / "nginx", process


def _reply(port: int, method: str, path: str, body: bytes = b"", length: int | None = None, keep: int = 1 << 16):
    """nginx's answer to a request with `body` (declared as `length` bytes if given): its status,
    its headers (names in lower case) and the first `keep` bytes of its body; a longer answer is
    not read further."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(CLIENT, 0)) as sock:
        length = len(body) if length is None else length
        head = f"{method} {path} HTTP/1.1\r\nHost: meldpunt\r\nConnection: close\r\nContent-Length: {length}\r\n"
        head += "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        sock.sendall(head.encode())
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(body)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < min(keep, _length(answer)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, rest = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, rest[:keep]


def _reaches_the_upstream(port: int, method: str, path: str) -> bool:
    status, _headers, body = _reply(port, method, path, b"" if method == "GET" else b"a=1")
    return status == 200 and (body.startswith(f"stub {method} {path} ".encode()) or body.startswith(Stub.PATTERN))


@pytest.mark.parametrize("full", COUNTERS)
def test_a_full_counter_stops_only_its_own_requests(routing, full):
    """nginx counts a request before the portal checks anything, so anyone can fill a counter:
    each kind of request has its own. With one counter full (slow bodies, or slow readers of a
    download), its next request gets nginx's busy page, and every other kind, the team's above
    all, still reaches gunicorn; so do the pages, the small forms and the script's final requests
    (POST /report/sealed, /mailbox/sealed, /team/reports/<ref>/reply/sealed)."""
    port, _stub, _folder, _process = routing
    slots, paths = COUNTERS[full]
    if full in DOWNLOADS:
        holders = slow_readers(port, (paths * slots)[:slots], source=CLIENT)
    else:
        holders = Trickle(port, bodies=slots, paths=paths, source=CLIENT)
    with holders as held:
        if full not in DOWNLOADS:
            assert held.held == slots
        for path in paths:
            status, headers, body = _reply(
                port, "GET" if full in DOWNLOADS else "POST", path, b"a=1" * (full not in DOWNLOADS)
            )
            assert (status, headers.get("retry-after"), body) == (503, "60", BUSY), (full, path)
        for other, (_slots, others) in COUNTERS.items():
            for path in others if other != full else ():
                assert _reaches_the_upstream(port, "GET" if other in DOWNLOADS else "POST", path), (full, path)
        for method, path in UNCOUNTED:
            assert _reaches_the_upstream(port, method, path), (full, path)
    time.sleep(0.5)  # nginx has seen every holder go, and counts none of them


def test_the_scripts_final_requests_are_buffered_and_uploads_without_javascript_stream(routing):
    """Where nginx sends each upload: the multipart forms (POST /report, /mailbox, the team's reply
    file) reach gunicorn as their bodies arrive; the script's final requests naming its uploads
    (POST /report/sealed, /mailbox/sealed, /team/reports/<ref>/reply/sealed) only once nginx has
    them whole, like any small form: they hold no thread while they arrive, and are not among the
    streamed uploads (whose location is anchored: /report/sealed is not /report)."""
    port, stub, _folder, _process = routing
    streamed = ["/report", "/mailbox", f"/team/reports/{REF}/reply-file"]
    buffered = ["/report/sealed", "/mailbox/sealed", f"/team/reports/{REF}/reply/sealed", "/logout"]
    for path in streamed + buffered:
        before = stub.seen(path, "headers")
        with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(CLIENT, 0)) as sock:
            head = f"POST {path} HTTP/1.1\r\nHost: meldpunt\r\nConnection: close\r\nContent-Length: 20\r\n"
            sock.sendall(f"{head}Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode() + b"a" * 10)
            deadline = time.monotonic() + (10 if path in streamed else 1.5)
            while stub.seen(path, "headers") == before and time.monotonic() < deadline:
                time.sleep(0.05)
            assert (stub.seen(path, "headers") > before) == (path in streamed), path
            sock.sendall(b"a" * 10)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.endswith(f"stub POST {path} 20".encode()), (path, answer)


def _read_answer(sock: socket.socket) -> bytes:
    """The rest of an answer on `sock`: its body, once all of it arrived."""
    answer = bytearray()
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536)
    head, _, body = bytes(answer).partition(b"\r\n\r\n")
    body, length = bytearray(body), _length(head + b"\r\n\r\n")
    while len(body) < length and (chunk := sock.recv(1 << 20)):
        body += chunk
    return bytes(body)


def test_a_team_export_may_wait_on_nginx_disk_a_reporters_download_never(routing):
    """An export bundle is ciphertext: nginx takes all of it from gunicorn into a temporary file
    (unlinked) while its reader reads nothing, so a slow team member holds no thread. A reporter's
    attachment is decrypted plaintext: it never goes to nginx's disk, and follows the reader's
    pace. Both arrive whole."""
    port, stub, folder, process = routing
    temporary = str(folder / "proxy")
    size, expected = stub.download_bytes, (Stub.PATTERN * (stub.download_bytes // 16 + 1))[: stub.download_bytes]
    for path in ["/team/export", f"/team/reports/{REF}/export"]:
        before = stub.seen(path, "sent")
        with slow_readers(port, [path], source=CLIENT) as [reader]:
            deadline = time.monotonic() + 30
            while stub.seen(path, "sent") == before and time.monotonic() < deadline:
                time.sleep(0.1)
            assert stub.seen(path, "sent") == before + 1, path  # all of it left gunicorn's side
            assert sum(open_files(worker, temporary) for worker in workers(process)) == 1
            assert _read_answer(reader) == expected
    path = "/mailbox/files/1"
    before = stub.seen(path, "sent")
    with slow_readers(port, [path], source=CLIENT) as [reader]:
        time.sleep(3)
        assert stub.seen(path, "sent") == before  # held at the reader's pace
        assert sum(open_files(worker, temporary) for worker in workers(process)) == 0
        assert len(body := _read_answer(reader)) == size
        assert body == expected


def test_downloads_refuse_a_body_before_counting_it(routing):
    """A GET that announces a body would be counted while nginx waits for it: a few slow ones
    would fill the downloads' slots without holding anything at gunicorn. nginx refuses them first
    (413, its own page); they reach neither gunicorn nor the counter."""
    port, stub, _folder, _process = routing
    paths = [path for name in DOWNLOADS for path in COUNTERS[name][1]]
    with Trickle(port, bodies=8, paths=paths, source=CLIENT):  # would fill both counters
        for path in paths:
            before = stub.seen(path, "headers")
            status, _headers, body = _reply(port, "GET", path, b"a=1")
            assert (status, body) == (413, TOO_LARGE), path
            assert stub.seen(path, "headers") == before
            assert _reaches_the_upstream(port, "GET", path), path


def test_nginx_answers_its_limits_with_pages_of_its_own(routing):
    """When a counter is full, nginx's 503 is a page in Dutch and English with the portal's
    stylesheet and headers, and Retry-After; a body over nginx's limit gets the same kind of
    page, 413. The portal's own 503 and 413 (translated) pass as they are."""
    from babel.messages.pofile import read_po

    from app.web.headers import CSP

    port, _stub, _folder, _process = routing
    with Trickle(port, bodies=6, paths=["/report"], source=CLIENT):
        busy = _reply(port, "POST", "/report", b"a=1")
    too_large = _reply(port, "POST", "/logout", length=64 << 10)
    for (status, headers, body), code, page in [(busy, 503, BUSY), (too_large, 413, TOO_LARGE)]:
        assert (status, body) == (code, page)
        assert headers["content-type"] == "text/html; charset=utf-8"
        assert headers["content-security-policy"] == CSP
        assert headers["cache-control"] == "no-store"
        assert headers.get("retry-after") == ("60" if code == 503 else None)
    for code in (503, 413):
        status, headers, body = _reply(port, "POST", f"/stub/status/{code}", b"a=1")
        assert (status, body) == (code, f"stub POST /stub/status/{code} 3".encode())
    catalog = read_po((ROOT / "app" / "translations" / "nl" / "LC_MESSAGES" / "messages.po").open("rb"))
    busy_words = ["Busy", "The portal is busy. Please wait a minute and try again.", "Go to the home page"]
    too_large_words = [
        "Too large",
        "What you sent is larger than this portal accepts. Send smaller or fewer attachments, or shorter text.",
    ]
    for page, words in [(BUSY, busy_words), (TOO_LARGE, too_large_words + ["Go to the home page"])]:
        text = page.decode()
        assert "<script" not in text
        assert text.startswith('<!doctype html>\n<html lang="nl">')
        assert '<div lang="en">' in text
        assert '<link rel="stylesheet" href="/static/meldpunt.css">' in text
        for english in words:  # the portal's own words, in both languages
            assert f">{english}<" in text
            assert f">{catalog[english].string}<" in text
    assert (ROOT / "static" / "meldpunt.css").is_file()


def _location(pattern: str) -> str:
    """What portal.conf's `location ~ pattern` holds."""
    conf = (DEPLOY / "portal.conf").read_text()
    return re.search(rf"\nlocation ~ {re.escape(pattern)} \{{\n(.*?)\n\}}", conf, re.DOTALL).group(1)


def _size(location: str, directive: str) -> int:
    number, unit = re.search(rf"^ *{directive} (\d+)([km]?);$", location, re.MULTILINE).groups()
    return int(number) << {"": 0, "k": 10, "m": 20}[unit]


def test_nginx_body_limits_sit_just_above_the_portals_own(portal):
    """The portal answers a body above its own limit with a translated page, so nginx's limit is a
    little above it (at most 10 %), never below; it follows the defaults, and says so truly. And
    every body nginx holds fits its buffer: none goes to a temporary file."""
    from app.domain.settings import DEFAULTS, GIB
    from app.domain.uploads import PART_BYTES
    from app.web.uploads import small_body_limit

    with portal.app_context():
        text = small_body_limit()
    streamed = portal.config["MAX_CONTENT_LENGTH"]  # one report or follow-up, attachments included
    for pattern, own in [
        ("^/(report|mailbox)$", streamed),
        ("^/team/reports/[^/]+/reply-file$", streamed),
        ("^/team/reports/[^/]+/(reply|state|acknowledge)$", text),
    ]:
        assert own < _size(_location(pattern), "client_max_body_size") <= own * 1.1, pattern
    for pattern in ("^/uploads/[^/]+/[0-9]+$", "^/team/uploads/[^/]+/[0-9]+$"):
        assert _size(_location(pattern), "client_max_body_size") == PART_BYTES
    for pattern in (
        "^/uploads/[^/]+/[0-9]+$",
        "^/team/uploads/[^/]+/[0-9]+$",
        "^/team/reports/[^/]+/(reply|state|acknowledge)$",
    ):
        location = _location(pattern)
        assert _size(location, "client_body_buffer_size") >= _size(location, "client_max_body_size")
    comments = " ".join(re.sub(r"^ *# ?", "", (DEPLOY / "portal.conf").read_text(), flags=re.MULTILINE).split())
    assert f"MELDPUNT_MAX_UPLOAD_BYTES, {DEFAULTS['MELDPUNT_MAX_UPLOAD_BYTES'] // GIB} GiB by default" in comments
    assert f"MELDPUNT_REPORT_QUOTA_BYTES, {DEFAULTS['MELDPUNT_REPORT_QUOTA_BYTES'] // GIB} GiB" in comments
    assert f"{streamed / (1 << 20):.0f} MiB" in comments
    assert f"{text / 1024:.0f} KiB" in comments


def _ended_after(port: int, request: bytes, trickle: bool) -> float:
    """Seconds until nginx ends a connection that sent `request` and then a byte a second
    (`trickle`) or nothing."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=1, source_address=(CLIENT, 0)) as sock:
        sock.sendall(request)
        while time.monotonic() - start < 60:
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
        # 15 s each; the bounds leave room for a busy machine, and still tell 15 s from never.
        assert 10 < headers.result() < 45
        assert 10 < bodies.result() < 45


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
    includes the tested files in every server that serves the portal, with nginx's own pages as
    their root where the docs install them, and the torrc's HiddenServicePort is its onion
    server's listener, not gunicorn's bind."""
    deploy = ROOT / "deploy"
    site = (deploy / "nginx" / "meldpunt.conf").read_text()
    for name in ("upstream.conf", "limits.conf"):
        assert f"\ninclude /etc/nginx/meldpunt/{name};" in site
    servers = site.split("\nserver {")[1:]
    portals = [server for server in servers if "include /etc/nginx/meldpunt/portal.conf;" in server]
    assert len(portals) == 2  # the clear web and the onion service; the third only redirects
    for server in portals:
        assert "\n    root /etc/nginx/meldpunt/pages;\n" in server
        assert "\n    set $meldpunt_app /srv/meldpunt/app;\n" in server  # static files from the checkout
    docs = (ROOT / "docs" / "deployment.md").read_text()
    assert "install -m 644 deploy/nginx/pages/*.html /etc/nginx/meldpunt/pages/" in docs
    assert sorted(path.name for path in (deploy / "nginx" / "pages").iterdir()) == ["busy.html", "too-large.html"]
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


def test_nginx_serves_static_files_itself_and_the_bundle_precompressed(stack):
    """Issue 12, point 4: the shipped config serves static/ from disk, the bundle as the gzip copy
    `make bundle` wrote (gzip_static), the same bytes once decoded, kept forever by browsers.
    The report form links the derive bundle (issue 14); both sit in the same location."""
    import gzip

    port, _folder, _instance = stack
    visitor = Visitor(port)
    _response, page = visitor.request("GET", "/report")
    address = re.search(r'<script defer src="([^"]+)"', page.decode())
    if address is None:
        pytest.skip("no bundle built (npm missing)")
    assert "/static/vendor/meldpunt-derive.js?v=" in address.group(1)
    plain_response, plain = visitor.request("GET", html.unescape(address.group(1)))
    zipped_response, zipped = visitor.request(
        "GET", html.unescape(address.group(1)), headers={"Accept-Encoding": "gzip"}
    )
    assert plain == (ROOT / "static" / "vendor" / "meldpunt-derive.js").read_bytes()
    assert zipped_response.getheader("Content-Encoding") == "gzip"
    assert zipped == (ROOT / "static" / "vendor" / "meldpunt-derive.js.gz").read_bytes()
    assert gzip.decompress(zipped) == plain
    for response in (plain_response, zipped_response):
        assert response.getheader("Content-Type") == "text/javascript"
        assert response.getheader("Cache-Control") == "public, max-age=31536000, immutable"
        assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert "Accept-Encoding" in zipped_response.getheader("Vary")
    unversioned, _body = visitor.request("GET", "/static/vendor/meldpunt.js")
    assert unversioned.getheader("Cache-Control") == "no-cache"  # kept for good only at its version
    css, _body = visitor.request("GET", "/static/meldpunt.css")
    assert (css.status, css.getheader("Content-Type"), css.getheader("Cache-Control")) == (200, "text/css", "no-cache")
    for response in (plain_response, css):  # the portal's own headers (app/web/headers.py)
        assert response.getheader("Content-Security-Policy").startswith("default-src 'none'")
        assert response.getheader("X-Frame-Options") == "DENY"
        assert response.getheader("Referrer-Policy") == "no-referrer"
    posted, _body = visitor.request("POST", "/static/meldpunt.css", b"")
    assert posted.status == 403
    # Nothing outside static/ through the static locations, however the way out is spelled.
    for path in (
        "/static/%2e%2e/pyproject.toml",
        "/static/..%2fpyproject.toml",
        "/static/vendor/%2e%2e/%2e%2e/README.md",
    ):
        outside, body = visitor.request("GET", path)
        assert outside.status in (400, 403, 404), path
        assert b"[project]" not in body, path
        assert b"Meldpunt" not in body[:200], path
