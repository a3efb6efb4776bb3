"""What the nightly rewrite costs: `meldpunt purge` with and without it (MELDPUNT_REWRITE_ON_PURGE).

    .venv/bin/python bench/vacuum_bench.py [REPORTS [MIB]]      # default: 1000 reports, 256 MiB

Fills a throw-away SQLite instance with REPORTS reports (each with a mailbox and a small report
item, 5 % of them spam closed 31 days ago, so the purge deletes something) and MIB MiB of
attachments in megabyte ciphertext rows, spread over the reports, all written row by row in a
random order of ids, as the portal would. Then runs the real `meldpunt purge`, as a child process,
on a fresh copy of that database: three times with the rewrite and three times without. Prints the
wall time of the whole command (min/median/max) and the ratio of the medians, the rewrite's own
time as the command reports it, and the most disk the command's files took beside the database at
any moment (the database, its log, and VACUUM's temporary copy, which SQLite unlinks as it opens
it: measured through /proc). Asserts nothing.
"""

import datetime
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crypto import PrivateKey  # noqa: E402  (after ROOT joins sys.path)

RUNS = 3
MIB = 1024 * 1024
MELDPUNT = Path(sys.executable).parent / "meldpunt"


def fill(instance: Path, reports: int, mib: int) -> None:
    from app.domain.clock import today
    from app.domain.db import bind, database
    from app.domain.models import CHUNK_ROW_BYTES, Chunk, Item, Mailbox, Report
    from app.domain.settings import Settings

    bind(f"sqlite:///{instance / 'meldpunt.db'}")
    day = today(Settings.load(instance).zone)
    old = day - datetime.timedelta(days=31)
    made = []
    with database.connection_context():
        for number in range(reports):
            spam = number % 20 == 0
            with database.atomic():
                report = Report.create(
                    reference=Report.new_reference(),
                    state="spam" if spam else "received",
                    received=old if spam else day,
                    updated=day,
                    closed_on=old if spam else None,
                )
                item = Item.create(report=report, kind="report", day=day, complete=True)
                Chunk.create(item=item, seq=0, data=os.urandom(2_000 + number % 3_000))
                Mailbox.create(report=report, lookup_hash=secrets.token_hex(32), public_key="mpk1-bench", last_used=day)
            made.append(report)
        for _ in range(mib):  # one megabyte row at a time, an attachment of a random report
            with database.atomic():
                report = made[secrets.randbelow(len(made))]
                item = Item.create(report=report, kind="attachment", day=day, complete=True, size=CHUNK_ROW_BYTES)
                Chunk.create(item=item, seq=0, data=os.urandom(CHUNK_ROW_BYTES))
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()


def files_beside(pid: int, folder: Path) -> int:
    """Bytes in the files the process has open in `folder`, unlinked ones included."""
    total = 0
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return 0
    for descriptor in descriptors:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
            if target.startswith(str(folder)):
                total += os.stat(f"/proc/{pid}/fd/{descriptor}").st_size
        except OSError:
            continue
    return total


def purge(source: Path, rewrite: bool) -> tuple[float, float | None, int]:
    """One `meldpunt purge` on a copy of `source`: wall seconds, the rewrite's own seconds as the
    command prints them, and the peak bytes of its files beside the database."""
    folder = Path(tempfile.mkdtemp(prefix="vacuum-bench-"))
    try:
        for name in ("meldpunt.toml", "meldpunt.db"):
            shutil.copy(source / name, folder / name)
        env = {**os.environ, "MELDPUNT_INSTANCE": str(folder), "MELDPUNT_REWRITE_ON_PURGE": str(rewrite).lower()}
        started = time.perf_counter()
        child = subprocess.Popen(
            [MELDPUNT, "purge"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        peak = [0]

        def watch() -> None:
            while child.poll() is None:
                peak[0] = max(peak[0], files_beside(child.pid, folder))
                time.sleep(0.01)

        watcher = threading.Thread(target=watch)
        watcher.start()
        out, err = child.communicate()
        took = time.perf_counter() - started
        watcher.join()
        if child.returncode:
            raise SystemExit(f"meldpunt purge failed: {err}")
        said = re.search(r"MiB in ([0-9.]+) s\.", out)
        return took, float(said.group(1)) if said else None, peak[0]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def spread(values: list[float]) -> str:
    return f"{min(values):6.2f} / {statistics.median(values):6.2f} / {max(values):6.2f} s"


def main() -> None:
    reports = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    source = Path(tempfile.mkdtemp(prefix="vacuum-bench-source-"))
    try:
        env = {**os.environ, "MELDPUNT_INSTANCE": str(source)}
        key = str(PrivateKey.generate().public)
        subprocess.run([MELDPUNT, "init", "--team-key", key], env=env, check=True, capture_output=True)
        started = time.perf_counter()
        fill(source, reports, mib)
        size = (source / "meldpunt.db").stat().st_size
        print(
            f"{reports} reports, {mib} MiB of attachments: a {size / MIB:.0f} MiB database, filled in "
            f"{time.perf_counter() - started:.0f} s"
        )
        without = [purge(source, rewrite=False) for _ in range(RUNS)]
        rewritten = [purge(source, rewrite=True) for _ in range(RUNS)]
        plain, full = [run[0] for run in without], [run[0] for run in rewritten]
        print(f"meldpunt purge without the rewrite (min / median / max of {RUNS}): {spread(plain)}")
        print(f"meldpunt purge with the rewrite    (min / median / max of {RUNS}): {spread(full)}")
        print(f"ratio of the medians: {statistics.median(full) / statistics.median(plain):.1f}")
        own = [run[1] for run in rewritten if run[1] is not None]
        if own:
            print(f"the rewrite alone, as purge reports it: {spread(own)}")
        peak = {name: max(run[2] for run in runs) / size for name, runs in (("without", without), ("with", rewritten))}
        print(
            "peak disk of the command's files (database + log + temporary copy), as a multiple of the "
            f"database: without {peak['without']:.2f}, with {peak['with']:.2f}"
        )
    finally:
        shutil.rmtree(source, ignore_errors=True)


if __name__ == "__main__":
    main()
