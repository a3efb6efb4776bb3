"""A large upload through the real portal (gunicorn, JavaScript-off path): memory and speed.

    .venv/bin/python bench/upload_bench.py [--mib 1024]

Starts gunicorn with one worker on a free loopback port and a throw-away instance, streams a
multipart report with one attachment of the given size, and prints:
  - the worker's RSS before the upload and its peak while the body streams in (goal: growth
    of at most 32 MiB for 1 GiB), sampled from /proc every 20 ms;
  - upload MiB/s next to raw secretstream MiB/s measured in this same run (goal: at least 25 %).
Prints figures, asserts nothing.
"""

import argparse
import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crypto import PrivateKey, primitives, spec  # noqa: E402  (after ROOT joins sys.path)

MIB = 1024 * 1024
BLOCK = os.urandom(MIB)


def raw_secretstream_mib_s(mib: int = 256) -> float:
    pusher = primitives.StreamPusher(bytes(32))
    chunk = BLOCK[: spec.CHUNK_BYTES]
    start = time.perf_counter()
    for _ in range(mib * MIB // spec.CHUNK_BYTES):
        pusher.push(chunk)
    return mib / (time.perf_counter() - start)


def parse_and_seal_mib_s(mib: int = 256) -> float:
    """Werkzeug's multipart parser feeding a Sealer into a null sink: the path without storage."""
    import io

    from werkzeug.formparser import MultiPartParser

    from crypto import Meta, Sealer

    class Null:
        def write(self, data):
            return len(data)

    class Part:
        def __init__(self):
            self.sealer = Sealer(Null(), [PrivateKey.generate().public], Meta("attachment"))

        def write(self, data):
            return self.sealer.write(data)

        def seek(self, *args):
            self.sealer.close()
            return 0

    boundary = b"bench"
    body = b'--bench\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\n' + BLOCK * mib
    body += b"\r\n--bench--\r\n"
    parser = MultiPartParser(stream_factory=lambda **kwargs: Part())
    start = time.perf_counter()
    parser.parse(io.BytesIO(body), boundary, len(body))
    return mib / (time.perf_counter() - start)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE).group(1))


def worker_of(master: int) -> int:
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


class Sampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, status(self.pid, "VmRSS"))
            time.sleep(0.02)


def start_portal(folder: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "MELDPUNT_INSTANCE": str(folder),
        "MELDPUNT_SECURE_COOKIES": "false",
        "MELDPUNT_MAX_UPLOAD_BYTES": str(8 * 1024 * MIB),
        "MELDPUNT_WORKERS": "1",
    }
    team = PrivateKey.generate().public
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [bin_dir / "meldpunt", "init", "--dev", "--team-key", str(team)], env=env, check=True, capture_output=True
    )
    return subprocess.Popen(
        [bin_dir / "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def form_session(port: int) -> tuple[str, str]:
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/report")
            response = conn.getresponse()
            break
        except OSError:
            time.sleep(0.1)
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return cookie, token


def upload(port: int, cookie: str, token: str, size: int, sent=lambda: None) -> float:
    boundary = "----meldpunt-bench"
    fields = {
        "csrf_token": token,
        "accept_policy": "y",
        "title": "bench",
        "system": "bench",
        "description": "a large attachment",
        "exploited": "unknown",
    }
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.putrequest("POST", "/report")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head.encode()) + size + len(tail)))
    conn.putheader("Cookie", cookie)
    conn.endheaders()
    start = time.perf_counter()
    conn.send(head.encode())
    for _ in range(size // MIB):
        conn.send(BLOCK)
    conn.send(tail)
    sent()
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200 or b"<span>" not in body:
        raise RuntimeError(f"upload answered {response.status}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    args = parser.parse_args()
    raw = raw_secretstream_mib_s()
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        portal = start_portal(Path(folder), port)
        try:
            worker = worker_of(portal.pid)
            cookie, token = form_session(port)
            upload(port, cookie, token, 4 * MIB)  # warm-up: imports, first derivation, database pages
            cookie, token = form_session(port)
            before = status(worker, "VmRSS")
            sampler = Sampler(worker)
            sampler.start()
            streaming = {}
            elapsed = upload(
                port, cookie, token, args.mib * MIB, sent=lambda: streaming.setdefault("peak", sampler.peak)
            )
            sampler.running = False
            sampler.join()
        finally:
            portal.terminate()
            portal.wait()
    speed = args.mib / elapsed
    growth = (streaming["peak"] - before) / 1024
    parse = parse_and_seal_mib_s()
    print(f"upload of {args.mib} MiB through gunicorn, sealed on the server and stored in SQLite")
    peak = streaming["peak"] / 1024
    print(f"  worker RSS before {before / 1024:.1f} MiB, peak while the body streams in {peak:.1f} MiB")
    print(f"  growth {growth:.1f} MiB (goal <= 32 MiB for 1 GiB)")
    print(f"  peak with the passphrase derivation that follows (argon2id, 64 MiB): {sampler.peak / 1024:.1f} MiB")
    print(f"  upload {speed:.1f} MiB/s; raw secretstream {raw:.1f} MiB/s in this run")
    print(f"  ratio {speed / raw:.2f} (goal >= 0.25)")
    print(f"  parsing and sealing alone, in-process, storing nothing: {parse:.1f} MiB/s, ratio {parse / raw:.2f}")


if __name__ == "__main__":
    main()
