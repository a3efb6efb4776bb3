"""Public pages against a bare Flask app, side by side (issue 12, point 4).

Both run under the same gunicorn configuration (gunicorn.conf.py: gthread, MELDPUNT_WORKERS and
MELDPUNT_THREADS), each on its own port; a small asyncio client keeps `--connections` keep-alive
connections busy for `--seconds` and counts complete answers. Rounds alternate the baseline and
each page in half-second slices, so the machine's noise falls on both; the ratio is the page's
requests/s over the bare app's in the same round. Printed: min / median / max per page over `--rounds`, and whether the
median meets the goal (/ and /policy ≥ 0.7, /report ≥ 0.4).

    .venv/bin/python bench/pages_bench.py [--rounds 5] [--seconds 3] [--connections 16]

The bare app returns a page of about the size of the portal's home page, from
a template file, so the baseline is Flask's and Jinja's own cost, not a constant string's.
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.served import gunicorn  # noqa: E402  (after ROOT joins sys.path)

GOALS = {"/": 0.7, "/policy": 0.7, "/report": 0.4}
BARE = """
from flask import Flask, render_template

app = Flask(__name__)


@app.get("/")
def home():
    return render_template("page.html", title="Bare", text="A paragraph of about the size of the portal's.")
"""
# A template file, as the portal's: Jinja compiles it once and caches it (render_template_string
# would compile it on every request and make the baseline slow).
SLICE = 0.5  # seconds: each round alternates the baseline and the page this often
HEAD = "<!doctype html><html><head><title>{{ title }}</title></head><body>"
PAGE = HEAD + "<p>{{ text }}</p>" * 60 + "</body></html>"


async def _client(port: int, path: str, deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Language: en\r\n\r\n".encode()
    try:
        while time.monotonic() < deadline:
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            status = int(head.split(b" ", 2)[1])
            await reader.readexactly(length)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            counts[0] += 1
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


def rate(port: int, path: str, seconds: float, connections: int) -> float:
    """Complete 200 answers per second over `seconds`, `connections` at a time."""
    counts = [0]

    async def run() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(_client(port, path, deadline, counts) for _ in range(connections)))

    started = time.monotonic()
    asyncio.run(run())
    return counts[0] / (time.monotonic() - started)


def _bare_server(folder: Path, env: dict) -> tuple[subprocess.Popen, int]:
    (folder / "bare_app.py").write_text(BARE)
    (folder / "templates").mkdir(exist_ok=True)
    (folder / "templates" / "page.html").write_text(PAGE)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [Path(sys.executable).parent / "gunicorn", "-c", ROOT / "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
        + ["--chdir", str(folder), "bare_app:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    return process, port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--pages", nargs="*", default=list(GOALS))
    args = parser.parse_args()
    settings = {"MELDPUNT_WORKERS": os.environ.get("MELDPUNT_WORKERS", "2")}
    env = {**os.environ, **settings}
    with tempfile.TemporaryDirectory() as folder, gunicorn(Path(folder) / "instance", **settings) as (port, *_):
        bare, bare_port = _bare_server(Path(folder), env)
        try:
            ratios: dict[str, list[float]] = {path: [] for path in args.pages}
            rate(bare_port, "/", 1.0, args.connections)  # warm both up
            for path in args.pages:
                rate(port, path, 1.0, args.connections)
            for round_number in range(args.rounds):
                for path in args.pages:
                    # Short slices, alternating: a burst of noise from the machine's neighbours
                    # then falls on both sides instead of on one whole measurement.
                    slices = max(1, round(args.seconds / SLICE))
                    baseline = measured = 0.0
                    for _slice in range(slices):
                        baseline += rate(bare_port, "/", args.seconds / slices, args.connections) / slices
                        measured += rate(port, path, args.seconds / slices, args.connections) / slices
                    ratios[path].append(measured / baseline)
                    print(
                        f"round {round_number + 1} {path}: {measured:.0f}/s against {baseline:.0f}/s bare", flush=True
                    )
        finally:
            bare.terminate()
            bare.wait(10)
    failed = 0
    for path, values in ratios.items():
        median = statistics.median(values)
        goal = GOALS.get(path, 0)
        met = median >= goal
        failed += not met
        print(
            f"{path}: ratio to bare Flask min {min(values):.2f} median {median:.2f} max {max(values):.2f} "
            f"(goal ≥ {goal}: {'met' if met else 'NOT met'})"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
