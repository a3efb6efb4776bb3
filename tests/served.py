"""The real gunicorn with the shipped configuration, on a free loopback port, for tests that
attack or load the portal as a client would."""

import contextlib
import http.client
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent


@contextlib.contextmanager
def gunicorn(instance: Path, **settings: str):
    """Initialise an instance in `instance` and serve it; yields (port, log path, master process)
    once every worker is up. `settings` become environment variables (MELDPUNT_WORKERS=1 unless
    given; None removes a variable the environment may have)."""
    from crypto import PrivateKey

    env = {**os.environ, "MELDPUNT_INSTANCE": str(instance), "MELDPUNT_WORKERS": "1", **settings}
    env = {name: value for name, value in env.items() if value is not None}
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


def open_files(pid: int, name: str) -> int:
    """How many of the process's file descriptors point at a file whose name contains `name`."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            count += name in os.readlink(f"/proc/{pid}/fd/{fd}")
    return count


def form(port: int, path: str = "/report") -> tuple[str, str]:
    """The session cookie and CSRF token a browser gets with the form at `path`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    page = response.read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return response.getheader("Set-Cookie").split(";")[0], token


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise LookupError("no VmHWM")
