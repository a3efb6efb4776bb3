"""The team's report list stays flat with volume (issue 12, point 6): every filter and order, and a
deep page, at 100,000 reports within 1.5 times the time of the same page with none.

    .venv/bin/python bench/team_list_bench.py [--database sqlite|postgresql] [--reports 100000]
                                              [--repeats 15] [--deep-page 20]

Two throw-away instances, each served by the real gunicorn with the shipped configuration
(tests/served.py): one stays empty, the other gets `--reports` reports as a programme of five
years has them (below, `fill`). A handler signs in to each through the sign-in form. Each round asks
both servers for every list page in turn, so the machine's noise falls on both alike. Printed: the
milliseconds per request (min / median / max) on each, and the ratio of the medians; exits 1 if any
ratio is above 1.5.

PostgreSQL: the server in MELDPUNT_TEST_DATABASE_URL (`python -m tests.services start DIR` prints
it), or one started for the run and stopped after it. The large database is VACUUM ANALYZEd after
filling, as autovacuum would have done; SQLite is not ANALYZEd (no instance ever runs it).
"""

import argparse
import datetime
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL = 1.5
BATCH = 1000
YEARS = 5
# A report's state by its age in days: fresh ones wait for an answer, last quarter's are worked on,
# older ones are mostly closed, with a few still being fixed and a few forgotten (overdue).
FRESH = {"received": 50, "acknowledged": 30, "spam": 12, "out_of_scope": 8}
RECENT = {"received": 1, "acknowledged": 12, "confirmed": 15, "fixing": 25, "resolved": 17, "disclosed": 5}
RECENT |= {"duplicate": 9, "not_vulnerability": 8, "out_of_scope": 3, "spam": 5}
OLD = {"received": 0.05, "acknowledged": 0.2, "confirmed": 0.5, "fixing": 1.5, "resolved": 14, "disclosed": 45}
OLD |= {"duplicate": 11, "not_vulnerability": 13, "out_of_scope": 5, "spam": 10}
EXITS = ("duplicate", "not_vulnerability", "out_of_scope", "spam")


def _postgres(folder: Path):
    """A PostgreSQL server for the run, unless MELDPUNT_TEST_DATABASE_URL names one; set before
    tests.served is imported (tests/conftest.py reads it then)."""
    if os.environ.get("MELDPUNT_TEST_DATABASE_URL"):
        return None
    from tests.services import Postgres

    server = Postgres(folder / "postgres").start()
    os.environ["MELDPUNT_TEST_DATABASE_URL"] = server.url
    return server


def _state(rng: random.Random, age: int) -> str:
    spread = FRESH if age <= 5 else RECENT if age <= 90 else OLD
    return rng.choices(list(spread), weights=list(spread.values()))[0]


def _report(rng: random.Random, today: datetime.date, references: set[str]) -> dict:
    """One report row with what the workflow would have set by its state: answered, planned,
    resolved, closed or disclosed days, and the CRA clocks of an exploited one."""
    from app.domain.models import Report, random_id

    age = min(int(rng.expovariate(1 / 400)), 365 * YEARS)
    received = today - datetime.timedelta(days=age)
    state = _state(rng, age)

    def later(most: int) -> datetime.date:
        return min(today, received + datetime.timedelta(days=rng.randint(0, most)))

    reference = Report.new_reference()
    while reference in references:
        reference = Report.new_reference()
    references.add(reference)
    answered = state != "received" and not (state in EXITS and rng.random() < 0.3)
    worked_on = state in ("fixing", "resolved", "disclosed")
    exploited = rng.random() < 0.02 and state not in EXITS
    aware = datetime.datetime.combine(later(3), datetime.time(rng.randint(7, 18), rng.randint(0, 59)))
    resolved = later(120) if state in ("resolved", "disclosed") else None
    return {
        "id": random_id(),
        "reference": reference,
        "state": state,
        "received": received,
        "acknowledged": later(5) if answered else None,
        "fix_expected": later(90) if worked_on else None,
        "disclosure_planned": later(180) if worked_on and rng.random() < 0.3 else None,
        "updated": later(200),
        "exploited": exploited,
        "cra_aware_at": aware if exploited else None,
        "cra_early_warning_sent": aware + datetime.timedelta(hours=20) if exploited and age > 2 else None,
        "cra_notification_sent": aware + datetime.timedelta(hours=60) if exploited and age > 4 else None,
        "resolved_on": resolved,
        "cra_final_report_sent": aware + datetime.timedelta(days=10) if exploited and resolved else None,
        "closed_on": later(30) if state in EXITS else None,
        "disclosed_on": later(200) if state == "disclosed" else None,
        "hold_reason": "litigation, ticket 4711" if rng.random() < 0.001 else None,
    }


def _thread(rng: random.Random, report: dict, keys: list[str]) -> tuple[dict | None, list[dict]]:
    """The report's mailbox (none for some old closed ones: retention deleted it) and its items:
    the report, attachments, the reporter's messages and the team's replies (sizes only; the list
    never reads ciphertext)."""
    from app.domain.models import random_id, thread_start

    received = report["received"]
    mailbox = None
    if report["state"] not in ("resolved", "disclosed", *EXITS) or rng.random() < 0.6:
        mailbox = {
            "id": random_id(),
            "report": report["id"],
            "lookup_hash": secrets.token_hex(32),
            "public_key": rng.choice(keys),
            "last_used": report["updated"],
        }
    start = thread_start()
    kinds = ["report"] + ["attachment"] * rng.randint(0, 2) + ["message"] * rng.randint(0, 2)
    kinds += ["reply"] * (rng.randint(1, 3) if report["acknowledged"] else 0)
    items = [
        {
            "id": random_id(),
            "report": report["id"],
            "kind": kind,
            "day": received if kind in ("report", "attachment") else report["updated"],
            "position": start + position,
            "size": rng.randint(2_000, 400_000),
            "complete": True,
        }
        for position, kind in enumerate(kinds)
    ]
    return mailbox, items


def fill(count: int, today: datetime.date) -> None:
    """`count` reports with their mailboxes and items, inserted in batches."""
    from app.domain.db import database
    from app.domain.models import Item, Mailbox, Report
    from crypto import PrivateKey

    rng = random.Random(12)  # noqa: S311  (filler, the same every run)
    keys = [str(PrivateKey.generate().public) for _ in range(50)]
    references: set[str] = set()
    for first in range(0, count, BATCH):
        reports = [_report(rng, today, references) for _ in range(min(BATCH, count - first))]
        mailboxes, items = [], []
        for report in reports:
            mailbox, thread = _thread(rng, report, keys)
            mailboxes += [mailbox] if mailbox else []
            items += thread
        with database.atomic():
            Report.insert_many(reports).execute()
            Mailbox.insert_many(mailboxes).execute()
            Item.insert_many(items).execute()
    if database.param != "?":  # PostgreSQL: what autovacuum would have done by now (statistics, visibility)
        database.execute_sql("VACUUM ANALYZE")


def signed_in(port: int, instance: Path):
    """A handler enrolled in the instance, signed in through the form: a Visitor with its cookie."""
    from tests.served import Visitor
    from tests.team_helpers import PASSWORD
    from tests.test_signin_throttle import enrolled

    totp = enrolled(instance, "bench")
    visitor = Visitor()
    # The next step's code: enrolment used this step's, and a code counts once.
    fields = {"name": "bench", "password": PASSWORD, "code": totp.at(time.time() + 30)}
    status, page, _ = visitor.post(port, "/team/signin", fields)
    if status != 302:
        raise RuntimeError(f"sign-in answered {status}: {page[:300]}")
    return visitor


def pages(deep: int) -> list[str]:
    from app.domain.workflow import STATES

    shown = ["open", "overdue", "soon", "closed", "all", *STATES]
    return [
        f"/team/?show={name}&sort={order}&page={page}&lang=en"
        for page in (1, deep)
        for name in shown
        for order in ("oldest", "newest")
    ]


def timed(visitor, port: int, path: str) -> float:
    start = time.perf_counter()
    status, page, _ = visitor.get(port, path)
    elapsed = (time.perf_counter() - start) * 1000
    if status != 200 or "reports</p>" not in page:
        raise RuntimeError(f"{path} answered {status}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--deep-page", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        postgres = None
        if args.database == "postgresql":
            postgres = _postgres(Path(folder))
        else:
            os.environ.pop("MELDPUNT_TEST_DATABASE_URL", None)
        try:
            return _run(args, Path(folder))
        finally:
            if postgres:
                postgres.stop()


def _run(args, folder: Path) -> int:
    from app.domain.clock import today
    from tests.served import gunicorn, served_database

    with gunicorn(folder / "empty") as (empty, *_), gunicorn(folder / "large") as (large, *_):
        with served_database(folder / "large") as settings:
            started = time.monotonic()
            fill(args.reports, today(settings.zone))
            print(f"{args.database}: {args.reports:,} reports filled in {time.monotonic() - started:.0f} s", flush=True)
        visitors = {empty: signed_in(empty, folder / "empty"), large: signed_in(large, folder / "large")}
        paths = pages(args.deep_page)
        times: dict[str, dict[int, list[float]]] = {path: {empty: [], large: []} for path in paths}
        for port, visitor in visitors.items():  # warm both up: templates compiled, caches filled
            for path in paths:
                timed(visitor, port, path)
        for _round in range(args.repeats):
            for path in paths:
                for port, visitor in visitors.items():
                    times[path][port].append(timed(visitor, port, path))
    return report(args, times, empty, large)


def report(args, times: dict[str, dict[int, list[float]]], empty: int, large: int) -> int:
    def spread(values: list[float]) -> str:
        return f"{min(values):5.1f} {statistics.median(values):5.1f} {max(values):6.1f}"

    print(f"{args.database}, {args.repeats} requests each, ms min / median / max; ratio of the medians")
    print(f"{'page':58s} {'0 reports':>18s} {f'{args.reports:,} reports':>19s}  ratio")
    worst = 0.0
    for path, measured in times.items():
        ratio = statistics.median(measured[large]) / statistics.median(measured[empty])
        worst = max(worst, ratio)
        flag = "" if ratio <= GOAL else "  over the goal"
        name = path.removeprefix("/team/?").removesuffix("&lang=en")
        print(f"{name:58s} {spread(measured[empty]):>18s} {spread(measured[large]):>19s}  {ratio:4.2f}{flag}")
    met = worst <= GOAL
    print(f"worst ratio {worst:.2f} (goal ≤ {GOAL}: {'met' if met else 'NOT met'})")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
