"""A fuzz pass over every route of the app's URL map, against the real gunicorn (issue 9, point 10).

    .venv/bin/python bench/fuzz_routes.py [--requests 12000] [--clients 16] [--seed S] [--glibc-defaults]
    .venv/bin/python bench/fuzz_routes.py --seed S --only N      (request N of seed S alone, shown)

Starts gunicorn (the shipped configuration, 2 workers) on a throw-away instance with every rate
limit lifted and an onion address set, makes a real session of every kind over HTTP
(bench/fuzz_sessions.py), then sends generated requests (bench/fuzz_requests.py: every rule and
method of the URL map and wrong ones, read from the app so that a new route is fuzzed too; bad
cookies, tokens, paths, queries, bodies, headers and framing) from `--clients` threads over raw
sockets on loopback, each with a timeout, the whole pass bounded by `--requests` and `--seconds`.

Request n of seed s is the same every time, so a failure is reproduced from the seed and number
it is printed with, beside the request as sent. A failure is an answer of 500 or more, no answer,
or "Traceback" in an answer; not failures, counted apart: a 503 with Retry-After from a route that
derives a key (the derivation cap answering busy, app/domain/derivations.py), and gunicorn's 501
for a transfer coding it does not implement (RFC 9112 6.1, before the app sees the request).
Afterwards: each worker's threads (no more than the main one and a full pool), open database files
and derivation slots, and memory now and at its peak, against the figures after a warm-up; the
gunicorn log for "Traceback" or "unhandled"; the sessions still signed in. Exits 1 on any failure.
tests/test_fuzz_routes.py runs a shorter pass in the suite.
"""

import argparse
import collections
import html
import itertools
import re
import runpy
import secrets
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fuzz_requests import Fuzzed, Plan, Route, build  # noqa: E402
from fuzz_sessions import prepare, served_database, still_signed_in  # noqa: E402
from peewee import fn  # noqa: E402

from app.domain.settings import DEFAULTS  # noqa: E402
from tests.served import gunicorn, in_threads, open_files, peak_rss_mib, threads, workers  # noqa: E402

# The served instance's settings: every rate limit lifted, so that requests reach the views instead
# of a 429; an onion address, so that every answer has an Onion-Location made from the path.
SERVED = {
    **{name: "1000000 per minute" for name in DEFAULTS if name.startswith("MELDPUNT_LIMIT_")},
    "MELDPUNT_ONION_ADDRESS": "http://" + "a" * 56 + ".onion",
}
# Routes whose POST derives an argon2id key (a passphrase, a password): the only ones where a 503
# is right, when every derivation slot stays taken for the whole wait (app/domain/derivations.py).
DERIVING = {"reporter.report_form", "reporter.login", "team.signin", "team.enrol"}
# glibc gives each thread an arena and raises its mmap threshold after a large buffer is freed, so
# freed bodies of a few MiB stay in a worker and its RSS climbs to a plateau (about +60 MiB over
# 12,000 requests here) that says nothing about the code. With these fixed, what a worker keeps is
# what the code keeps; `--glibc-defaults` shows the plateau.
ALLOCATOR = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}
RSS_MARGIN_MIB = 24  # what a worker may keep after the pass: caches, the allocator's slack
# Two argon2id derivations at 64 MiB (one per core here), a 4 MiB part, 16 threads' buffers.
PEAK_MIB = 320
WARM_UP = 500  # requests before the figures to compare with: fills the thread pools and caches
KEEP = 64 * 1024  # of each answer: enough for the status, the headers and a traceback, if any


PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def routes(app) -> list[Route]:
    """Every rule of the app's URL map, with its methods and the converter of each path argument."""
    return [
        Route(
            rule.rule,
            rule.endpoint,
            tuple(sorted(rule.methods)),
            {name: converter or "default" for converter, name in PLACEHOLDER.findall(rule.rule)},
        )
        for rule in app.url_map.iter_rules()
    ]


def served_routes(instance: Path) -> list[Route]:
    """The routes of the app as the served instance builds it."""
    from app import create_app
    from app.domain.db import database

    previous = database.obj  # the factory binds the database: bind back what this process had
    try:
        return routes(create_app({"INSTANCE": instance}))
    finally:
        if previous is not None:
            database.initialize(previous)


def plan(port: int, instance: Path) -> Plan:
    """Real sessions made on the served portal, and the routes and fields of its app."""
    return Plan(port, served_routes(instance), *field_names(), prepare(port, instance))


def field_names() -> tuple[list[str], list[str]]:
    """The form fields and the query parameters the views read, from their source (so that new ones
    are fuzzed too): WTForms fields, `request.form.get…` and `request.args.get…`."""
    form = re.compile(r"request\.form\.get(?:list)?\(\"(\w+)\"|^\s+(\w+) = \w+Field\(", re.M)
    query = re.compile(r"request\.args\.get(?:list)?\(\"(\w+)\"")
    fields, parameters = {"csrf_token", "sealed", "sealed_attachments"}, set()
    for folder in ("reporter", "team", "audit", "web"):
        for source in (ROOT / "app" / folder).glob("*.py"):
            text = source.read_text()
            fields.update(name for match in form.findall(text) for name in match if name)
            parameters.update(query.findall(text))
    return sorted(fields), sorted(parameters)


# --- sending and judging --------------------------------------------------------------------------


@dataclass
class Answer:
    status: int | None
    head: bytes  # the first KEEP bytes
    retry_after: bool
    from_app: bool  # Flask answered (its headers are there), not gunicorn's parser
    error: str | None  # "timeout", "reset" …: the connection's fate when no status came


def send(port: int, data: bytes, timeout: float) -> Answer:
    """Send the request as it is, half-close, and read the answer until the server closes."""
    received, error = [], None
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError as failed:  # refused before the end of the body: the answer may be there
            error = type(failed).__name__
        total = 0
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                error = "timeout"
                break
            except OSError as failed:
                error = error or type(failed).__name__
                break
            if not chunk:
                break
            if total < KEEP:
                received.append(chunk)
            total += len(chunk)
    head = b"".join(received)[:KEEP]
    while head.startswith(b"HTTP/1.1 100"):  # Expect: 100-continue's interim answer
        head = head.partition(b"\r\n\r\n")[2]
    found = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    headers = head.partition(b"\r\n\r\n")[0]
    retry = re.search(rb"\r\nRetry-After: \d+\r\n", headers) is not None
    from_app = b"\r\nContent-Security-Policy: " in headers
    return Answer(int(found.group(1)) if found else None, head, retry, from_app, error)


@dataclass
class Result:
    seed: int
    seconds: float = 0.0
    sent: int = 0
    statuses: collections.Counter = field(default_factory=collections.Counter)
    by_route: dict[str, collections.Counter] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    kinds: collections.Counter = field(default_factory=collections.Counter)
    busy: collections.Counter = field(default_factory=collections.Counter)  # 503 from the derivation cap, by route
    # gunicorn's 501 for a Transfer-Encoding it does not implement (RFC 9112 6.1), by coding
    not_implemented: collections.Counter = field(default_factory=collections.Counter)
    from_app: int = 0  # answers that came from the app, not from gunicorn's parser
    failures: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"seed {self.seed}: {self.sent} requests in {self.seconds:.1f} s ({self.sent / self.seconds:.0f}/s)"]
        if self.failures:
            lines.append(f"one again: .venv/bin/python bench/fuzz_routes.py --seed {self.seed} --only NUMBER")
        lines.append(f"answers by status: {dict(sorted(self.statuses.items(), key=lambda item: str(item[0])))}")
        lines.append(f"answered by the app: {self.from_app}; refused by gunicorn's parser: {self.sent - self.from_app}")
        lines.append(f"503 from the derivation cap (busy, with Retry-After): {dict(self.busy)}")
        lines.append(f"501 from gunicorn, for a transfer coding it does not implement: {dict(self.not_implemented)}")
        lines.append("by route:")
        for endpoint, counts in sorted(self.by_route.items()):
            shown = ", ".join(f"{status}: {count}" for status, count in sorted(counts.items(), key=lambda i: str(i[0])))
            lines.append(f"  {endpoint:32} {sum(counts.values()):6}  {shown}")
        lines.append(f"failures: {len(self.failures)}")
        return "\n".join(lines + self.failures[:20])


def judge(fuzzed: Fuzzed, answer: Answer, result: Result) -> None:
    result.sent += 1
    result.statuses[answer.status or answer.error] += 1
    result.by_route[fuzzed.endpoint][answer.status or answer.error] += 1
    result.kinds.update(fuzzed.kinds)
    result.from_app += answer.from_app
    problem = None
    unsupported = re.search(rb"Unsupported transfer coding: ([^<]*)", answer.head)
    if answer.status is None:
        problem = f"no answer ({answer.error})"
    elif answer.status == 503 and answer.retry_after and fuzzed.endpoint in DERIVING and fuzzed.method == "POST":
        result.busy[fuzzed.endpoint] += 1
    elif answer.status == 501 and not answer.from_app and unsupported:
        result.not_implemented[html.unescape(unsupported.group(1).decode(errors="replace")).strip()] += 1
    elif answer.status >= 500:
        problem = f"answered {answer.status}"
    elif b"Traceback" in answer.head:
        problem = "a traceback in the answer"
    if problem:
        shown = answer.head[:600]
        result.failures.append(f"seed {result.seed}, {problem}: {fuzzed.describe()}\nanswer: {shown!r}")


def fuzz(plan: Plan, *, count: int, seconds: float, clients: int, seed: int) -> Result:
    """Send requests 0…count-1 of `seed` from `clients` threads, stopping early at `seconds`."""
    result = Result(seed)
    numbers = itertools.count()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                index = next(numbers)
            if index >= count:
                return
            fuzzed = build(plan, seed, index)
            answer = send(plan.port, fuzzed.data, timeout=60)
            with lock:
                judge(fuzzed, answer, result)

    result.seconds = in_threads(client, clients, timeout=seconds + 120)
    return result


# --- the server's side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Worker:
    pid: int
    rss_mib: float
    peak_mib: float
    threads: int
    database_files: int
    slot_files: int

    def __str__(self) -> str:
        return (
            f"worker {self.pid}: RSS {self.rss_mib:.0f} MiB (peak {self.peak_mib:.0f}), {self.threads} threads, "
            f"{self.database_files} database files open, {self.slot_files} derivation slots held"
        )


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError("no VmRSS")


def measure(master) -> list[Worker]:
    return [
        Worker(
            pid, rss_mib(pid), peak_rss_mib(pid), threads(pid), open_files(pid, "meldpunt.db"), open_files(pid, "slot")
        )
        for pid in sorted(workers(master))
    ]


def most_threads() -> int:
    """A worker's main thread and gunicorn's full thread pool, as the shipped configuration sets it."""
    return 1 + int(runpy.run_path(str(ROOT / "gunicorn.conf.py"))["threads"])


def settled(master, wait: float = 10.0) -> list[Worker]:
    """The workers once the requests in flight are done (no thread beyond the pool, no derivation
    slot held), or as they are after `wait` seconds."""
    end = time.monotonic() + wait
    while True:
        now = measure(master)
        if all(worker.threads <= most_threads() and not worker.slot_files for worker in now):
            return now
        if time.monotonic() > end:
            return now
        time.sleep(0.2)


def leftovers(before: list[Worker], after: list[Worker], rss_margin_mib: float | None) -> list[str]:
    """What a worker kept after the pass: a thread beyond the main one and a full pool, more open
    database files than before, a derivation slot, more memory than before plus the margin (None:
    not judged), or a peak above PEAK_MIB."""
    found = []
    for ahead, end in zip(before, after, strict=True):
        if end.threads > most_threads():
            found.append(f"{end}: more threads than the main one and a full pool ({most_threads()})")
        if end.database_files > ahead.database_files or end.slot_files:
            found.append(f"{end}: files left open ({ahead.database_files} database files before)")
        if rss_margin_mib is not None and end.rss_mib > ahead.rss_mib + rss_margin_mib:
            found.append(f"{end}: RSS grew more than {rss_margin_mib} MiB from {ahead.rss_mib:.0f} MiB")
        if end.peak_mib > PEAK_MIB:
            found.append(f"{end}: peak RSS above {PEAK_MIB} MiB")
    return found


def log_problems(log: Path) -> list[str]:
    """Lines of the gunicorn log that speak of a traceback or an unhandled error."""
    text = log.read_text(errors="replace")
    return [line for line in text.splitlines() if re.search("traceback|unhandled", line, re.I)]


def stored(instance: Path) -> dict[str, int]:
    """How far requests got: what the served database holds afterwards."""
    from app.domain.models import Event, Item, Report

    with served_database(instance):
        counts = {"reports": Report.select().count(), "items": Item.select().count()}
        for row in Event.select(Event.action, fn.COUNT(Event.id).alias("n")).group_by(Event.action):
            counts[f"events {row.action}"] = row.n
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=12000)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--glibc-defaults", action="store_true", help="no ALLOCATOR settings (RSS then not judged)")
    parser.add_argument("--only", type=int, default=None, help="send request ONLY of --seed alone, and show it")
    args = parser.parse_args()
    if args.only is not None:
        return again(args.seed or 0, args.only)
    seed = secrets.randbelow(2**32) if args.seed is None else args.seed
    allocator = {} if args.glibc_defaults else ALLOCATOR
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder) / "instance"
        with gunicorn(instance, MELDPUNT_WORKERS=str(args.workers), **SERVED, **allocator) as (port, log, master):
            start = measure(master)
            made = plan(port, instance)
            # Fill each worker's thread pool and warm its caches, then the figures to compare with.
            warm = fuzz(made, count=WARM_UP, seconds=120, clients=args.clients, seed=seed + 1)
            before = settled(master)
            result = fuzz(made, count=args.requests, seconds=args.seconds, clients=args.clients, seed=seed)
            after = settled(master)
            alive = still_signed_in(port, made.sessions)
            problems = log_problems(log)
        reached = stored(instance)
    kept = leftovers(before, after, None if args.glibc_defaults else RSS_MARGIN_MIB)
    print(f"{len(made.routes)} rules, {len(made.fields)} form fields, {len(made.parameters)} query parameters")
    print(f"{args.workers} workers, {args.clients} clients, allocator: {allocator or 'glibc defaults'}")
    print(f"warm-up (seed {seed + 1}): {warm.sent} requests, {len(warm.failures)} failures")
    print(result.report())
    print("mutations:", ", ".join(f"{kind} {count}" for kind, count in sorted(result.kinds.items())))
    print("stored afterwards:", ", ".join(f"{name} {count}" for name, count in reached.items()))
    for label, figures in (("start", start), ("before", before), ("after", after)):
        for worker in figures:
            print(f"{label:6} {worker}")
    print(f"left over: {kept or 'nothing'}")
    print(f"sessions still signed in afterwards: {alive}")
    print(f"log lines with a traceback or 'unhandled': {len(problems)}")
    for line in problems[:20]:
        print("  " + line)
    bad = len(result.failures) + len(warm.failures) + len(problems) + len(kept) + (not all(alive.values()))
    return 1 if bad else 0


def again(seed: int, index: int) -> int:
    """One request of a seed, alone, on a fresh instance: the request, the answer and the log."""
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder) / "instance"
        with gunicorn(instance, MELDPUNT_WORKERS="1", **SERVED, **ALLOCATOR) as (port, log, _master):
            fuzzed = build(plan(port, instance), seed, index)
            answer = send(port, fuzzed.data, timeout=60)
            time.sleep(0.5)  # for the worker's log lines
            print(fuzzed.describe(limit=10_000))
            print(f"answer ({answer.error or 'complete'}):", answer.head[:4000].decode(errors="replace"))
            print("gunicorn log:", log.read_text(errors="replace") or "(nothing)")
    return 0 if answer.status and answer.status < 500 else 1


if __name__ == "__main__":
    sys.exit(main())
