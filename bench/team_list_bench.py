"""The team's report list with 10 and with 10,000 reports: it must not slow down with volume.

    .venv/bin/python bench/team_list_bench.py

Fills a throw-away SQLite instance, signs a handler in, and times the list page (open reports,
and the "answer overdue" filter) for 10 and 10,000 reports. Prints figures, asserts nothing.
"""

import datetime
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crypto import PrivateKey  # noqa: E402  (after ROOT joins sys.path)

RUNS = 20


def fill(count: int) -> None:
    from app.domain.db import database
    from app.domain.models import Report

    start = datetime.date.today() - datetime.timedelta(days=400)  # noqa: DTZ011  (filler days: any zone will do)
    states = ("received", "acknowledged", "confirmed", "fixing", "resolved", "disclosed", "spam")
    rows = [
        {
            "reference": f"MP-{n:04d}-BNCH",
            "state": states[n % len(states)],
            "received": start + datetime.timedelta(days=n % 400),
        }
        for n in range(count)
    ]
    with database.atomic():
        for batch in range(0, len(rows), 500):
            Report.insert_many(rows[batch : batch + 500]).execute()


def time_list(count: int) -> dict[str, float]:
    from app import create_app
    from app.domain.db import database
    from app.domain.reports import initialise
    from tests.team_helpers import team_client

    folder = Path(tempfile.mkdtemp())
    try:
        app = create_app(
            {
                "INSTANCE": folder,
                "MELDPUNT_TEAM_KEY": str(PrivateKey.generate().public),
                "SECRET_KEY": "t" * 40,
                "MELDPUNT_SECURE_COOKIES": False,
                "MELDPUNT_LIMIT_TEAM_SIGNIN": "1000 per minute",
            }
        )
        initialise()
        with database.connection_context():
            fill(count)
        client = team_client(app, "bench", "handler")
        results = {}
        for name in ("open", "overdue"):
            client.get(f"/team/?show={name}")  # warm
            start = time.perf_counter()
            for _ in range(RUNS):
                assert client.get(f"/team/?show={name}").status_code == 200
            results[name] = (time.perf_counter() - start) / RUNS * 1000
        return results
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    small, large = time_list(10), time_list(10_000)
    print(f"team report list, mean of {RUNS} requests through the test client")
    for name in ("open", "overdue"):
        print(
            f"  {name:8s} 10 reports {small[name]:6.1f} ms   10,000 reports {large[name]:6.1f} ms   "
            f"ratio {large[name] / small[name]:.2f}"
        )


if __name__ == "__main__":
    main()
