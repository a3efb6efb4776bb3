"""The real gunicorn with the shipped configuration, on a free loopback port, for tests that
attack or load the portal as a client would; Debian's nginx with the shipped deploy/nginx files in
front of it; and slow clients to attack either."""

import asyncio
import collections
import contextlib
import http.client
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from .conftest import TEST_DATABASE_URL, TEST_REDIS_URL, instance_database, new_postgres_database

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent


@contextlib.contextmanager
def gunicorn(instance: Path, initialise: bool = True, **settings: str):
    """Initialise an instance in `instance` and serve it; yields (port, log path, master process)
    once every worker is up. `settings` become environment variables (MELDPUNT_WORKERS=1 unless
    given; None removes a variable the environment may have). A second server of the same
    instance passes `initialise=False` and the first's DATABASE_URL."""
    from crypto import PrivateKey

    env = {**os.environ, "MELDPUNT_INSTANCE": str(instance), "MELDPUNT_WORKERS": "1", **settings}
    env = {name: value for name, value in env.items() if value is not None}
    if TEST_REDIS_URL and "MELDPUNT_REDIS_URL" not in settings:
        env["MELDPUNT_REDIS_URL"] = TEST_REDIS_URL  # on the second run, real servers count in Redis too
    if not initialise:
        env["DATABASE_URL"] = settings.get("DATABASE_URL") or instance_database(instance)
    elif TEST_DATABASE_URL and "DATABASE_URL" not in settings:
        env["DATABASE_URL"] = new_postgres_database()  # its own: the per-test reset must not empty it
    if initialise:
        subprocess.run(
            [BIN / "meldpunt", "init", "--dev", "--team-key", str(PrivateKey.generate().public)],
            env=env,
            check=True,
            capture_output=True,
        )
    if initialise and TEST_DATABASE_URL:  # so that tests reading the instance (served_database, raw) find it
        with (instance / "meldpunt.toml").open("a") as handle:
            handle.write(f'DATABASE_URL = "{env["DATABASE_URL"]}"\n')
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = instance / ("gunicorn.log" if initialise else f"gunicorn-{port}.log")
    process = subprocess.Popen(
        [BIN / "gunicorn", "-c", ROOT / "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):
            if len(workers(process)) == int(env["MELDPUNT_WORKERS"]):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    pass
            time.sleep(0.1)
        yield port, log, process
    finally:
        process.terminate()
        process.wait(timeout=20)


def workers(master: subprocess.Popen | int) -> list[int]:
    """The worker processes of a gunicorn master (its process or its pid)."""
    pid = master if isinstance(master, int) else master.pid
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def connections(pid: int, instance: Path) -> int:
    """The database connections a worker holds: open files of SQLite's database, or on PostgreSQL
    the server's sessions on the instance's database (all of them: the test's server is alone
    there)."""
    url = instance_database(instance)
    if url.startswith("sqlite"):
        return open_files(pid, "meldpunt.db")
    import psycopg

    with psycopg.connect(url) as connection:
        query = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        return connection.execute(query).fetchone()[0]


def open_files(pid: int, name: str) -> int:
    """How many of the process's file descriptors point at a file whose name contains `name`."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            count += name in os.readlink(f"/proc/{pid}/fd/{fd}")
    return count


def form(port: int, path: str = "/report") -> tuple[str, str]:
    """The session cookie and CSRF token a browser gets with the form at `path` (the report form
    gives no cookie: then the first is empty)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    page = response.read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return (response.getheader("Set-Cookie") or "").split(";")[0], token


class Visitor:
    """A browser without JavaScript, as far as the tests need one: its cookies (which, as a
    browser's, do not depend on the port, so one visitor can go from one server to another), a
    GET, a form POST; redirects are not followed, so each answer can be checked."""

    def __init__(self, source: str = "127.0.0.1"):
        self.cookies: dict[str, str] = {}
        self.source = source  # any 127.x.y.z: another client address, as far as the server can tell

    def request(self, port: int, method: str, path: str, body: bytes = b"", headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=(self.source, 0))
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        conn.request(method, path, body or None, {**({"Cookie": cookie} if cookie else {}), **(headers or {})})
        response = conn.getresponse()
        page = response.read().decode(errors="replace")
        conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";")[0]
            if "Max-Age=0" in header or "expires=Thu, 01 Jan 1970" in header:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response.status, page, response

    def get(self, port: int, path: str):
        return self.request(port, "GET", path)

    def token(self, port: int, path: str) -> str:
        status, page, _ = self.get(port, path)
        assert status == 200, (path, status)
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    def post(self, port: int, path: str, fields: dict[str, str], form_path: str | None = None):
        """POST `fields` with a CSRF token from the form at `form_path` (default: `path`)."""
        import urllib.parse

        fields = {"csrf_token": self.token(port, form_path or path), **fields}
        body = urllib.parse.urlencode(fields).encode()
        return self.request(port, "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def report(self, port: int, fields: dict[str, str]):
        """The report form without JavaScript: a multipart POST to the form's own address."""
        import uuid

        status, page, _ = self.get(port, "/report?lang=en")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        boundary = uuid.uuid4().hex
        body = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in {"csrf_token": token, **fields}.items()
        )
        body += f"--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return self.request(port, "POST", f"/report?csrf={token}&lang=en", body, headers)


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise LookupError("no VmHWM")


# --- nginx in front, and slow clients ---------------------------------------------------------

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEPLOY = ROOT / "deploy" / "nginx"
# The main configuration around the shipped files: nginx's own log at its most talkative, an access
# log for every server that does not turn it off, and temporary files in the test's folder. The
# server's `root` is nginx's own error pages, as meldpunt.conf's servers have it.
NGINX_MAIN = """\
{user}
worker_processes auto;
worker_rlimit_nofile {files};
pid {folder}/nginx.pid;
error_log {folder}/error.log debug;
events {{
    worker_connections {connections};
}}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/upstream.conf;
    include {deploy}/limits.conf;
    server {{
        listen 127.0.0.1:{port};
        root {deploy}/pages;
        set $meldpunt_app {app};
        include {deploy}/portal.conf;
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def nginx(folder: Path, upstream: int, connections: int = 1024):
    """Debian's nginx on a free loopback port in front of gunicorn on port `upstream`, serving the
    shipped deploy/nginx/limits.conf and portal.conf as they are: only the listener (plain http on
    loopback instead of TLS), the root of nginx's error pages (deploy/nginx/pages/), the checkout
    whose static/ folder nginx serves ($meldpunt_app) and the upstream file are the test's own.
    Yields (port, master process). nginx's own log is `folder`/error.log at debug level, and an access log, if any
    server wrote one, would be `folder`/access.log; temporary files would go under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (folder / "upstream.conf").write_text(f"upstream meldpunt {{\n    server 127.0.0.1:{upstream};\n}}\n")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    files = 2 * connections + 64 if hard == resource.RLIM_INFINITY else min(hard, 2 * connections + 64)
    # As root, nginx would switch its workers to `nobody`, who cannot enter a private temp folder.
    user = "user root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        NGINX_MAIN.format(
            user=user,
            files=files,
            folder=folder,
            connections=connections,
            port=port,
            deploy=DEPLOY,
            app=DEPLOY.parent.parent,
        )
    )
    with (folder / "stderr.log").open("w") as stderr:
        process = subprocess.Popen(
            [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
            stdout=stderr,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(100):
            if process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("nginx did not open its port within 10 s")
        if process.poll() is not None:
            raise RuntimeError(f"nginx did not start: {(folder / 'stderr.log').read_text()}")
        yield port, process
    finally:
        process.terminate()
        process.wait(timeout=20)


class Trickle:
    """Slow clients, as many as asked, on an event loop of their own: `headers` connections send
    a request's headers a byte at a time and never finish them; `bodies` send whole headers for
    a small POST to one of `paths` and then its body a byte at a time. Each sends a byte every
    `interval` seconds for as long as the server keeps it, and opens a new connection when the
    server ends one, so the pressure stays the same. Use as a context manager; `counts` says how
    many connections were opened, ended by the server, or refused. `source`: the loopback address
    they come from; `ramp`: the seconds over which their first connections are spread."""

    def __init__(
        self, port: int, headers=0, bodies=0, paths=("/logout", "/replies"), *, interval=1.0, ramp=0.0, source=""
    ):
        self.port, self.interval, self.ramp = port, interval, ramp
        self.source = (source, 0) if source else None
        self.heads = [b"GET / HTTP/1.1\r\nHost: meldpunt\r\nX-Trickle: "] * headers
        self.heads += [
            f"POST {paths[n % len(paths)]} HTTP/1.1\r\nHost: meldpunt\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\n".encode()
            for n in range(bodies)
        ]
        self.counts: collections.Counter = collections.Counter()
        self.held = 0  # connections open right now
        self.stop = asyncio.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> "Trickle":
        self.thread.start()
        self.tasks = [
            asyncio.run_coroutine_threadsafe(self._client(head, self.ramp * n / len(self.heads)), self.loop)
            for n, head in enumerate(self.heads)
        ]
        deadline = time.monotonic() + 30 + self.ramp
        while self.counts["opened"] < len(self.heads) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2 * self.interval)  # every one has sent a few bytes (and gunicorn gave it a thread)
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        for task in self.tasks:
            task.result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    async def _client(self, head: bytes, delay: float) -> None:
        await asyncio.sleep(delay)
        while not self.stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port, local_addr=self.source)
            except OSError:
                self.counts["refused"] += 1
                await asyncio.sleep(self.interval)
                continue
            self.counts["opened"] += 1
            self.held += 1
            try:
                await self._trickle(head, reader, writer)
            except OSError:
                self.counts["ended by the server"] += 1
            finally:
                self.held -= 1
                writer.close()

    async def _trickle(self, head: bytes, reader, writer) -> None:
        writer.write(head)
        while not self.stop.is_set():
            await writer.drain()
            try:
                await asyncio.wait_for(reader.read(4096), self.interval)
            except TimeoutError:
                writer.write(b"a")
                continue
            self.counts["ended by the server"] += 1  # an answer (408, 413…) or the end of the stream
            return


# --- a stand-in for gunicorn, and slow readers --------------------------------------------------


class Stub:
    """A stand-in for gunicorn behind nginx, for tests of nginx's own routing and counting: every
    request is answered as soon as its body is in, with `stub METHOD PATH BYTES`; a GET whose path
    contains one of `downloads` gets `download_bytes` bytes instead (b"0123456789abcdef" repeated),
    and a path `/stub/status/<code>` that status. `events` lists (method, path, event, monotonic
    time) as they happen: "headers" (they arrived), "body" (all of it), "sent" (the whole answer
    left, into the socket's buffers) or "cut" (the connection ended first). Use as a context
    manager; `port` is where it listens, on loopback."""

    PATTERN = b"0123456789abcdef"

    def __init__(self, downloads=("/files/", "/envelopes/", "/export"), download_bytes: int = 64 << 20):
        import http.server

        stub = self
        self.downloads, self.download_bytes = downloads, download_bytes
        self.events: list[tuple[str, str, str, float]] = []
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # nothing on stderr
                pass

            def handle_one_request(self) -> None:
                with contextlib.suppress(OSError):
                    super().handle_one_request()

            def _any(self) -> None:
                stub.record(self.command, self.path, "headers")
                length = int(self.headers.get("Content-Length") or 0)
                received = 0
                while received < length:
                    chunk = self.rfile.read(min(65536, length - received))
                    if not chunk:
                        stub.record(self.command, self.path, "cut")
                        return
                    received += len(chunk)
                stub.record(self.command, self.path, "body")
                status = re.fullmatch(r"/stub/status/(\d{3})", self.path)
                if self.command == "GET" and any(part in self.path for part in stub.downloads):
                    body, size = None, stub.download_bytes
                else:
                    body = f"stub {self.command} {self.path} {received}".encode()
                    size = len(body)
                self.send_response(int(status.group(1)) if status else 200)
                self.send_header("Content-Type", "application/octet-stream" if body is None else "text/plain")
                self.send_header("Content-Length", str(size))
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    if body is not None:
                        self.wfile.write(body)
                    else:
                        block = stub.PATTERN * 4096  # 64 KiB
                        for _ in range(size // len(block)):
                            self.wfile.write(block)
                        self.wfile.write(block[: size % len(block)])
                    self.wfile.flush()
                except OSError:
                    stub.record(self.command, self.path, "cut")
                    return
                stub.record(self.command, self.path, "sent")

            do_GET = do_POST = do_PUT = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None
        self.port = self.server.server_address[1]

    def record(self, method: str, path: str, event: str) -> None:
        with self.lock:
            self.events.append((method, path, event, time.monotonic()))

    def seen(self, path: str, event: str) -> int:
        """How many times `event` happened for `path` so far."""
        with self.lock:
            return sum(1 for _method, seen, happened, _at in self.events if seen == path and happened == event)

    def __enter__(self) -> "Stub":
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def slow_readers(port: int, paths, source: str = "", receive_buffer: int = 4096):
    """One connection for each of `paths` that asks for it (GET) and then reads nothing, with a
    small receive buffer: the server keeps the answer, and whatever it counts the request in, for
    as long as the connection stays open. Yields the sockets; closes them at the end."""
    sockets = []
    try:
        for path in paths:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            if source:
                sock.bind((source, 0))
            sock.settimeout(10)
            sock.connect(("127.0.0.1", port))
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: meldpunt\r\n\r\n".encode())
            sockets.append(sock)
        time.sleep(0.5)  # the server has read every request, and counted it
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


@contextlib.contextmanager
def served_database(instance: Path):
    """The served instance's settings, with this process's database bound to its SQLite file (and
    bound back afterwards, for the tests that follow)."""
    from app.domain.db import bind, database
    from app.domain.settings import Settings

    settings = Settings.load(instance, {"DATABASE_URL": instance_database(instance)})
    previous = database.obj
    bind(settings["DATABASE_URL"])
    try:
        with database.connection_context():
            yield settings
    finally:
        if previous is not None:
            database.initialize(previous)


def in_threads(target, count: int, timeout: float) -> float:
    """Run `target` in `count` threads at once and wait for them; returns the seconds it took."""
    import threading

    start = time.monotonic()
    pool = [threading.Thread(target=target) for _ in range(count)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=timeout)
    return time.monotonic() - start
