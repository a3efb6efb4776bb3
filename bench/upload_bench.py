"""Large uploads through the real portal (gunicorn, JavaScript-off path): speed, bytes written, memory.

    .venv/bin/python bench/upload_bench.py [--database sqlite|postgresql] [--mib 1024]
                                           [--grow-gib 0] [--repeat 3]

Serves a throw-away instance with the shipped gunicorn configuration and one worker
(tests/served.py `gunicorn`), optionally grows its database first, then streams `--repeat`
multipart reports, each with one attachment of `--mib` MiB, sealed on the server. Per upload:

- **speed**: MiB of plaintext sent divided by the time from the first byte of the body to the
  answer (the report stored, its passphrase derived), against raw secretstream (libsodium's
  push over 64 KiB chunks, this process, one core) measured in this same run. Goal: >= 0.25.
- **bytes written per byte uploaded**: bytes the processes below passed to write(2) and
  pwrite(2) (`wchar` in /proc/<pid>/io: every byte SQLite or PostgreSQL hands to the kernel, the
  log and the database files alike), divided by the plaintext bytes sent. Goal: <= 1.3.
  Counted from just before the body until every byte of the upload is in the database file:
    - SQLite: the gunicorn worker (all its threads: the request and the writer thread; its
      socket writes are the small answers), plus this process while it runs
      `PRAGMA wal_checkpoint(PASSIVE)` after the answer, so that what the worker's automatic
      checkpoints left in the log counts too. The master never opens the database.
    - PostgreSQL: every process of the cluster, summed: the postmaster's own counters (which
      include every child it has reaped, so backends that ended count too) plus each live child
      (backends, WAL writer, checkpointer, background writer); the window ends after a
      `CHECKPOINT`, so the heap and TOAST pages still in shared buffers count as well as the WAL.
      Not the gunicorn worker: its writes are the rows on their way to the server's socket.
  Also printed: the kernel's `write_bytes` for the same processes (page-cache pages dirtied,
  each counted once while it stays dirty). It undercounts here: tests/services.py runs the
  cluster with fsync=off (and synchronous_commit=off, full_page_writes=off), so a recycled WAL
  segment or a log SQLite rewrites from its start lands on pages still dirty and is not counted
  again (measured: PostgreSQL wrote 1.07 B/B of WAL and 1.04 B/B of table, and write_bytes said
  1.04). `wchar` does not depend on when the kernel writes back.
- **CPU**: seconds of CPU (user and system, all threads) per GiB uploaded, of the worker, of the
  database server's processes (PostgreSQL; SQLite runs inside the worker) and of this client
  sending the body, next to the wall time per GiB: on a machine of two cores, when their sum
  reaches twice the wall time, the upload is bound by the CPU, not by waiting.
- **memory**: the worker's RSS before the body and its peak while the body streams in, sampled
  from /proc every 20 ms. Goal: growth <= 32 MiB per GiB uploaded (scaled for other sizes).

`--grow-gib G` first fills the database with G GiB of ciphertext the way the portal stores it:
reports, each with 64 MiB items written by the portal's own `BlobWriter` in this process (the
same rows, row size and transactions as an upload, without HTTP and sealing), then a checkpoint.
PostgreSQL: MELDPUNT_TEST_DATABASE_URL names the server (a new database is made on it and
dropped at the end), else one is started in a temporary folder with tests/services.py.
Prints min / median / max over the repeats and PASS or FAIL per goal (on the median).
"""

import argparse
import contextlib
import datetime
import http.client
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crypto import PrivateKey, primitives, spec  # noqa: E402  (after ROOT joins sys.path)

MIB = 1024 * 1024
GIB = 1024 * MIB
BLOCK = os.urandom(MIB)
GROW_ITEM_BYTES = 64 * MIB
GOAL_RATIO, GOAL_WRITTEN, GOAL_RSS_PER_GIB = 0.25, 1.3, 32


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


def status(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE).group(1))


def io_counters(pid: int | str) -> dict[str, int]:
    """/proc/<pid>/io of a whole process (all threads, and the children it has reaped); zeros for
    a process that has gone meanwhile."""
    try:
        lines = Path(f"/proc/{pid}/io").read_text().splitlines()
    except (FileNotFoundError, ProcessLookupError):
        return {"wchar": 0, "write_bytes": 0}
    return {name: int(value) for name, value in (line.split(": ") for line in lines)}


def cpu_seconds(pids) -> float:
    """CPU time (user and system) of the processes, all their threads, and the children each has
    reaped; 0 for a process that has gone meanwhile."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


class Written:
    """The write counters of a set of processes: `pids()` says which, each time it is read."""

    def __init__(self, pids):
        self.pids = pids

    def read(self) -> tuple[int, int]:
        """(wchar, write_bytes), summed."""
        syscalls = dirtied = 0
        for pid in self.pids():
            counters = io_counters(pid)
            syscalls += counters["wchar"]
            dirtied += counters["write_bytes"]
        return syscalls, dirtied


class Sampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, status(self.pid, "VmRSS"))
            time.sleep(0.02)


def form_session(port: int) -> tuple[str, str]:
    """The cookies (all of them) and CSRF token a browser gets with the report form."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/report?lang=en")
    response = conn.getresponse()
    page = response.read().decode()
    cookies = "; ".join(header.split(";")[0] for header in response.headers.get_all("Set-Cookie") or [])
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return cookies, token


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
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    conn.putrequest("POST", f"/report?csrf={token}&lang=en")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head.encode()) + size + len(tail)))
    conn.putheader("Cookie", cookie)
    conn.endheaders()
    start = time.perf_counter()
    conn.send(head.encode())
    for _ in range(size // MIB):
        conn.send(BLOCK)
    conn.send(BLOCK[: size % MIB])
    conn.send(tail)
    sent()
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200 or b"<span>" not in body:
        raise RuntimeError(f"upload answered {response.status}")
    return elapsed


# --- the databases ----------------------------------------------------------------------------


class SqliteTarget:
    name = "SQLite"

    def __init__(self, folder: Path):
        self.url = f"sqlite:///{folder / 'meldpunt.db'}"
        self.path = folder / "meldpunt.db"

    def processes(self, worker: int):
        return lambda: [worker]

    def settle(self) -> tuple[int, int]:
        """Checkpoint what the worker left in the log; returns what this process wrote doing so."""
        import sqlite3

        before = io_counters("self")
        with contextlib.closing(sqlite3.connect(self.path)) as connection:
            connection.execute("PRAGMA busy_timeout = 60000")
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        after = io_counters("self")
        return after["wchar"] - before["wchar"], after["write_bytes"] - before["write_bytes"]

    def size(self) -> int:
        return sum(path.stat().st_size for path in self.path.parent.glob("meldpunt*.db*"))  # the chunk file too

    def close(self) -> None:
        pass


class PostgresTarget:
    name = "PostgreSQL"

    def __init__(self, folder: Path):
        import psycopg

        self._server = self._folder = None
        base = os.environ.get("MELDPUNT_TEST_DATABASE_URL", "")
        if not base:
            from tests.services import Postgres

            # A folder the cluster's owner can enter (run as root, that is the postgres account).
            self._folder = Path(tempfile.mkdtemp(dir=os.environ.get("BENCH_DIR")))
            self._folder.chmod(0o755)
            self._server = Postgres(self._folder / "postgres").start()
            base = self._server.url
        self._admin = base
        self.database = f"bench_{os.getpid()}"
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.database}"')
            data = connection.execute("SHOW data_directory").fetchone()[0]
        self.url = f"{base.rsplit('/', 1)[0]}/{self.database}"
        self.postmaster = int((Path(data) / "postmaster.pid").read_text().split()[0])

    def processes(self, worker: int):
        return lambda: [self.postmaster, *children(self.postmaster)]

    def settle(self) -> tuple[int, int]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute("CHECKPOINT")
        return 0, 0  # the checkpointer is one of the cluster's processes, counted already

    def size(self) -> int:
        import psycopg

        with psycopg.connect(self.url) as connection:
            return connection.execute("SELECT pg_database_size(current_database())").fetchone()[0]

    def close(self) -> None:
        import psycopg

        with psycopg.connect(self._admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        if self._server is not None:
            self._server.stop()
            shutil.rmtree(self._folder, ignore_errors=True)


def grow(url: str, gib: float) -> float:
    """Fill the database with `gib` GiB of ciphertext-like rows the way uploads store them (one
    report, 64 MiB items through `BlobWriter`); returns the seconds it took."""
    from app.domain.blobs import BlobWriter
    from app.domain.db import bind, database, truncate_wal
    from app.domain.models import Item, Report

    bind(url)
    blocks = [os.urandom(MIB) for _ in range(16)]
    start = time.perf_counter()
    with database.connection_context():
        day = datetime.datetime.now(datetime.UTC).date()
        report = Report.create(reference=Report.new_reference(), received=day, updated=day)
        for number in range(int(gib * GIB) // GROW_ITEM_BYTES):
            # As a stream stores them: rows on the writer thread, outside any transaction (on
            # SQLite chunks must be committed before the item counts: app/domain/db.py).
            item = Item.create(report=report, kind="attachment", day=day)
            writer = BlobWriter(item, background=True)
            for index in range(GROW_ITEM_BYTES // MIB):
                writer.write(blocks[(number + index) % len(blocks)])
            writer.close()
        truncate_wal()
    database.close()
    return time.perf_counter() - start


def settle(seconds: float = 5) -> None:
    """Write back what growing the database dirtied and, as root, drop the page cache. On this
    virtual machine the pages the kernel takes for new file data cost a fault on the host the
    first time they are touched: right after writing 5 GiB, every upload went into such pages and
    took 60 % more CPU (`perf`: the kernel's copy into the page cache), in WAL mode as with the
    chunk file; with the cache dropped, a 7 GiB file took the same CPU per GiB as an empty one.
    A database that grew over months is not in that state (docs/deployment.md, "Upload storage")."""
    os.sync()
    if os.geteuid() == 0:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    time.sleep(seconds)


# --- the run ----------------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    return f"min {min(values):.2f}  median {statistics.median(values):.2f}  max {max(values):.2f}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--grow-gib", type=float, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from tests.served import gunicorn, workers

    raws, speeds, written, growths, dirtied = [], [], [], [], []
    worker_cpu, database_cpu, client_cpu = [], [], []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as folder:
        instance = Path(folder) / "instance"
        instance.mkdir()
        target = (SqliteTarget if args.database == "sqlite" else PostgresTarget)(instance)
        try:
            settings = {
                "DATABASE_URL": target.url,
                "MELDPUNT_SECURE_COOKIES": "false",
                "MELDPUNT_MAX_UPLOAD_BYTES": str(max(8 * GIB, 2 * args.mib * MIB)),
                "MELDPUNT_REPORT_QUOTA_BYTES": str(max(16 * GIB, 4 * args.mib * MIB)),
                "MELDPUNT_LIMIT_SUBMIT": "10000 per hour",
                "MELDPUNT_LIMIT_SUBMIT_PER_ADDRESS": "10000 per minute",
            }
            with gunicorn(instance, **settings) as (port, _log, master):
                worker = workers(master)[0]
                if args.grow_gib:
                    seconds = grow(target.url, args.grow_gib)
                    print(f"grew the database by {args.grow_gib} GiB in {seconds:.0f} s")
                cookie, token = form_session(port)
                upload(port, cookie, token, 4 * MIB)  # warm-up: imports, first derivation, pages
                target.settle()
                print(f"database size before: {target.size() / GIB:.2f} GiB")
                settle()  # grown or not, the same state of the page cache for both measurements
                counters = Written(target.processes(worker))
                for _ in range(args.repeat):
                    raws.append(raw_secretstream_mib_s())
                    cookie, token = form_session(port)
                    before_rss = status(worker, "VmRSS")
                    sampler = Sampler(worker)
                    sampler.start()
                    streaming = {}
                    start_syscalls, start_dirtied = counters.read()
                    database_pids = target.processes(worker) if target.name != "SQLite" else (lambda: [])
                    cpu_before = cpu_seconds([worker]), cpu_seconds(database_pids()), cpu_seconds([os.getpid()])
                    mark = lambda s=sampler, t=streaming: t.setdefault("peak", s.peak)  # noqa: E731
                    elapsed = upload(port, cookie, token, args.mib * MIB, sent=mark)
                    sampler.running = False
                    sampler.join()
                    gib = args.mib / 1024
                    worker_cpu.append((cpu_seconds([worker]) - cpu_before[0]) / gib)
                    database_cpu.append((cpu_seconds(database_pids()) - cpu_before[1]) / gib)
                    client_cpu.append((cpu_seconds([os.getpid()]) - cpu_before[2]) / gib)
                    by_us = target.settle()
                    end_syscalls, end_dirtied = counters.read()
                    speeds.append(args.mib / elapsed)
                    written.append((end_syscalls - start_syscalls + by_us[0]) / (args.mib * MIB))
                    dirtied.append((end_dirtied - start_dirtied + by_us[1]) / (args.mib * MIB))
                    growths.append((streaming["peak"] - before_rss) / 1024)
                    print(
                        f"  upload {speeds[-1]:.1f} MiB/s (raw {raws[-1]:.0f}), written {written[-1]:.2f} B/B "
                        f"(write_bytes {dirtied[-1]:.2f}), "
                        f"RSS +{growths[-1]:.1f} MiB; CPU s/GiB: worker {worker_cpu[-1]:.1f}, "
                        f"database server {database_cpu[-1]:.1f}, this client {client_cpu[-1]:.1f}, "
                        f"wall {1024 / speeds[-1]:.1f}",
                        flush=True,
                    )
                print(f"database size after: {target.size() / GIB:.2f} GiB")
        finally:
            target.close()
    raw = statistics.median(raws)
    ratios = [speed / raw for speed in speeds]
    rss_goal = GOAL_RSS_PER_GIB * max(args.mib, 1024) / 1024
    print(
        f"{args.repeat} uploads of {args.mib} MiB through gunicorn on {target.name}, "
        f"database grown by {args.grow_gib} GiB first"
    )
    print(f"  upload MiB/s:            {spread(speeds)}")
    print(f"  raw secretstream MiB/s:  {spread(raws)}")
    ok = statistics.median(ratios) >= GOAL_RATIO
    print(f"  ratio:                   {spread(ratios)}  (goal >= {GOAL_RATIO})  {verdict(ok)}")
    print(
        f"  written B per B:         {spread(written)}  (goal <= {GOAL_WRITTEN})  "
        f"{verdict(statistics.median(written) <= GOAL_WRITTEN)}"
    )
    print(f"  write_bytes B per B:     {spread(dirtied)}  (page cache dirtied; undercounts, see above)")
    print(
        f"  worker RSS growth MiB:   {spread(growths)}  (goal <= {rss_goal:.0f})  {verdict(max(growths) <= rss_goal)}"
    )
    print(
        f"  CPU seconds per GiB:     worker {spread(worker_cpu)}; database server {spread(database_cpu)}; "
        f"this client {spread(client_cpu)} (the machine has {os.cpu_count()} cores)"
    )
    parse = parse_and_seal_mib_s()
    print(f"  parsing and sealing alone, in-process, storing nothing: {parse:.1f} MiB/s, ratio {parse / raw:.2f}")


if __name__ == "__main__":
    main()
