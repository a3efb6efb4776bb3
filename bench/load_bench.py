"""Submissions under saturation, against the real gunicorn: nothing lost, nothing half-stored.

    .venv/bin/python bench/load_bench.py [--seconds 60] [--clients 32] [--workers 2]

Starts gunicorn (the shipped configuration) on a throw-away instance with the rate limits lifted,
then `--clients` threads submit reports without JavaScript (form, then a multipart POST with a
small attachment) as fast as they can for `--seconds`. Afterwards it reads the database and
prints reports/s, the answers by status, the 5xx other than the intended 503 ("busy"), and the
mismatches between what was answered and what was stored: a 200 whose reference has no report, a
report without a mailbox, a report nobody was told about. Exits 1 if any of those is not zero.
tests/test_load.py runs a short version of the same.
"""

import argparse
import collections
import http.client
import re
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import instance_database  # noqa: E402  (after ROOT joins sys.path)
from tests.served import gunicorn, in_threads  # noqa: E402

UNLIMITED = {
    f"MELDPUNT_LIMIT_{name}{scope}": "1000000 per minute"
    for name in ("SUBMIT", "LOGIN", "UPLOAD")
    for scope in ("", "_PER_ADDRESS")
}


@dataclass
class Result:
    seconds: float = 0.0
    statuses: collections.Counter = field(default_factory=collections.Counter)
    answered: list[str] = field(default_factory=list)  # references shown on passphrase pages
    errors: collections.Counter = field(default_factory=collections.Counter)  # connection failures

    def unexpected_5xx(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500 and status != 503)


def submit(port: int) -> tuple[int, str | None]:
    """One report without JavaScript: the form, then its multipart POST. The status of whichever
    failed (the form itself answers 503 while the database is away), and the reference shown."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", "/report")
    response = conn.getresponse()
    page = response.read().decode()
    conn.close()
    if response.status != 200:
        return response.status, None
    cookie = (response.getheader("Set-Cookie") or "").split(";")[0]  # the report form gives none
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    boundary = uuid.uuid4().hex
    fields = {"csrf_token": token, "accept_policy": "y", "title": "Load", "system": "bench", "description": "x"}
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    body += f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="poc.txt"\r\n\r\n'.encode()
    body += b"proof of concept\n" * 1000 + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request(
        "POST",
        f"/report?csrf={token}&lang=en",
        body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}", **({"Cookie": cookie} if cookie else {})},
    )
    response = conn.getresponse()
    page = response.read().decode()
    conn.close()
    found = re.search(r"Reference: (MP-[A-Z0-9]{4}-[A-Z0-9]{4})", page)
    return response.status, found.group(1) if found and response.status == 200 else None


def load(port: int, seconds: float, clients: int) -> Result:
    result = Result()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            try:
                status, reference = submit(port)
            except OSError as error:
                with lock:
                    result.errors[type(error).__name__] += 1
                continue
            with lock:
                result.statuses[status] += 1
                if reference:
                    result.answered.append(reference)

    result.seconds = in_threads(client, clients, timeout=seconds + 300)
    return result


def mismatches(url: str, result: Result) -> dict[str, int]:
    """What was answered against what was stored (read after the load, from the database)."""
    from app.domain.db import bind
    from app.domain.db import database as db
    from app.domain.models import Mailbox, Report

    bind(url)
    with db.connection_context():
        stored = {row.reference for row in Report.select(Report.reference)}
        with_mailbox = {row.report.reference for row in Mailbox.select(Mailbox, Report).join(Report)}
        return {
            "answered but not stored": len(set(result.answered) - stored),
            "stored without a mailbox": len(stored - with_mailbox),
            "stored but never answered": len(stored - set(result.answered)),
        }


def kept_for_retry(url: str) -> int:
    """Attachments of submissions answered 503: sealed and kept for the reporter's next try (the
    form lists them), deleted by `meldpunt purge` the next day if the report is never sent."""
    from app.domain.db import bind
    from app.domain.db import database as db
    from app.domain.models import Item

    bind(url)
    with db.connection_context():
        return Item.select().where(Item.report.is_null()).count()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder) / "instance"
        with gunicorn(instance, MELDPUNT_WORKERS=str(args.workers), **UNLIMITED) as (port, _log, _master):
            result = load(port, args.seconds, args.clients)
        url = instance_database(instance)  # SQLite, or the run's PostgreSQL (tests/services.py)
        found = mismatches(url, result)
        kept = kept_for_retry(url)
    stored = result.statuses.get(200, 0)
    print(f"{args.clients} clients, {args.workers} workers, {result.seconds:.0f} s")
    print(f"reports stored: {stored} ({stored / result.seconds:.1f}/s)")
    print(f"answers: {dict(sorted(result.statuses.items()))}; connection errors: {dict(result.errors)}")
    print(f"5xx other than 503: {result.unexpected_5xx()}")
    for name, count in found.items():
        print(f"{name}: {count}")
    print(f"attachments kept for a retry after a 503: {kept}")
    bad = result.unexpected_5xx() + sum(found.values()) + sum(result.errors.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
