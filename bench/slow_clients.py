"""Normal page requests while hundreds of slow clients attack, through the shipped nginx.

    .venv/bin/python bench/slow_clients.py [--runs 3] [--seconds 20] [--headers 500] [--bodies 100]
                                           [--rate 40] [--direct]

Starts gunicorn with the shipped configuration (2 workers × 8 threads) and Debian's nginx with
the shipped deploy/nginx files in front (tests/served.py), all on loopback. Each run measures the
pages (GET /, /policy, /report, new connection each, `--rate` a second from 4 threads, 5 s timeout)
for `--seconds` without attackers (the baseline), then again while `--headers` connections trickle
a request's headers and `--bodies` trickle a POST body to /logout or /replies, a byte a second
each (tests/served.py `Trickle`; a connection nginx ends is opened again). Prints p50, p95, max
and failures for each, then min/median/max over the runs. The goal: p95 under 1 s and no failure
under attack; exits 1 otherwise. `--direct` attacks and measures gunicorn without nginx, as the
former onion setup exposed it (expect every page to time out).
"""

import argparse
import math
import resource
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.served import NGINX, Trickle, gunicorn, nginx, workers  # noqa: E402  (after ROOT joins sys.path)

PAGES = ["/", "/policy", "/report"]
THREADS = 4
TIMEOUT = 5.0


@dataclass
class Sample:
    seconds: list[float] = field(default_factory=list)
    failures: int = 0

    def quantile(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else math.nan

    def line(self) -> str:
        requests = f"{len(self.seconds) + self.failures:5d} requests"
        if not self.seconds:
            return f"{requests}  none answered within {TIMEOUT:g} s  failures {self.failures}"
        return (
            f"{requests}  p50 {self.quantile(0.5) * 1000:7.1f} ms  p95 {self.quantile(0.95) * 1000:7.1f} ms"
            f"  max {max(self.seconds) * 1000:7.1f} ms  failures {self.failures}"
        )


def measure(port: int, seconds: float, rate: float) -> Sample:
    import http.client

    sample, lock = Sample(), threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        step = THREADS / rate
        due = time.monotonic() + offset * step / THREADS
        n = offset
        while (now := time.monotonic()) < deadline:
            time.sleep(max(0.0, due - now))
            due += step
            start = time.monotonic()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
                conn.request("GET", PAGES[n % len(PAGES)])
                response = conn.getresponse()
                response.read()
                conn.close()
                ok = response.status == 200
            except OSError:
                ok = False
            with lock:
                if ok:
                    sample.seconds.append(time.monotonic() - start)
                else:
                    sample.failures += 1
            n += 1

    pool = [threading.Thread(target=client, args=(offset,)) for offset in range(THREADS)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sample


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def summary(name: str, samples: list[Sample]) -> None:
    def spread(values: list[float]) -> str:
        if any(math.isnan(value) for value in values):
            return "- (a run had no answer)"
        return f"{min(values) * 1000:.1f} / {statistics.median(values) * 1000:.1f} / {max(values) * 1000:.1f} ms"

    print(f"  {name:9s} p50 {spread([s.quantile(0.5) for s in samples])}")
    print(f"  {'':9s} p95 {spread([s.quantile(0.95) for s in samples])}")
    print(f"  {'':9s} max {spread([max(s.seconds, default=math.nan) for s in samples])}")
    requests = sum(len(s.seconds) + s.failures for s in samples)
    print(f"  {'':9s} failures {sum(s.failures for s in samples)} of {requests}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--headers", type=int, default=500)
    parser.add_argument("--bodies", type=int, default=100)
    parser.add_argument("--rate", type=float, default=40.0, help="page requests a second")
    parser.add_argument("--direct", action="store_true", help="no nginx: attack gunicorn itself")
    args = parser.parse_args()
    if not args.direct and not Path(NGINX).exists():
        print("nginx is not installed (apt-get install nginx)")
        return 2
    # One descriptor per slow client here, and two in nginx (the client's, and gunicorn's for a
    # body it passes on): raise the soft limit as far as the hard one allows.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 4 * (args.headers + args.bodies) + 256
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    connections = 2 * (args.headers + args.bodies) + 512
    settings = {"MELDPUNT_WORKERS": "2"}
    baseline, attacked = [], []
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "instance").mkdir()
        with (
            gunicorn(Path(folder) / "instance", **settings) as (upstream, _log, _master),
            nginx(Path(folder) / "nginx", upstream, connections=connections) as (front, proxy),
        ):
            port = upstream if args.direct else front
            print(f"{'gunicorn alone' if args.direct else 'nginx in front of gunicorn'}, 2 workers × 8 threads")
            print(f"{args.headers} slow headers, {args.bodies} slow bodies; pages {args.rate:g}/s, {args.seconds:g} s")
            measure(port, 2, args.rate)  # warm up
            for run in range(1, args.runs + 1):
                baseline.append(measure(port, args.seconds, args.rate))
                print(f"run {run}  baseline  {baseline[-1].line()}")
                with Trickle(port, headers=args.headers, bodies=args.bodies, ramp=2.0) as slow:
                    attacked.append(measure(port, args.seconds, args.rate))
                    held, counts = slow.held, dict(slow.counts)
                    memory = rss_mib(workers(proxy))
                print(f"run {run}  attacked  {attacked[-1].line()}")
                print(f"        slow clients open at the end: {held}; connections {counts}")
                if not args.direct:
                    print(f"        nginx workers' memory (RSS) under attack: {memory:.0f} MiB")
                time.sleep(2)
    print(f"over {args.runs} runs (min / median / max):")
    summary("baseline", baseline)
    summary("attacked", attacked)
    worst = max(sample.quantile(0.95) for sample in attacked)
    failures = sum(sample.failures for sample in attacked)
    met = worst < 1.0 and failures == 0  # a run without answers has a p95 of nan: not met either
    print(f"goal (p95 < 1 s, no failures under attack): {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
