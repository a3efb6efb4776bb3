"""Several servers on one PostgreSQL and one Redis (issue 12): two gunicorn instances of the same
portal, each with two workers, as an operator runs them behind nginx. A limit holds across both,
a sign-out on one ends the session on the other, a report sent to one is answered from the
other; Redis never holds a client's address; and when the shared parts fail, requests get a
translated 503, nothing half-stored, and the portal recovers by itself. Runs on the PostgreSQL
run only (.ci/run: `python -m tests.services`)."""

import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from .conftest import TEST_DATABASE_URL, TEST_REDIS_URL, new_postgres_database
from .served import Visitor, gunicorn
from .services import Postgres, Redis

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (TEST_DATABASE_URL and TEST_REDIS_URL),
        reason="several servers: set MELDPUNT_TEST_DATABASE_URL and MELDPUNT_TEST_REDIS_URL",
    ),
]

REPORT = {"accept_policy": "y", "title": "Shared state", "system": "two servers", "description": "MARKER-TWO"}
SIGN_INS_PER_ADDRESS = 6
LIMITS = {
    "MELDPUNT_WORKERS": "2",
    "MELDPUNT_LIMIT_SUBMIT": "1000 per hour",
    "MELDPUNT_LIMIT_SUBMIT_PER_ADDRESS": "1000 per hour",
    "MELDPUNT_LIMIT_LOGIN": "1000 per hour",
    "MELDPUNT_LIMIT_LOGIN_PER_ADDRESS": f"{SIGN_INS_PER_ADDRESS} per hour",
    "MELDPUNT_LIMIT_TEAM_SIGNIN": "1000 per hour",
    "MELDPUNT_LIMIT_TEAM_SIGNIN_PER_ADDRESS": "1000 per hour",
    "MELDPUNT_POW_BITS": "0",
}


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    instance = tmp_path_factory.mktemp("shared")
    common = {**LIMITS, "DATABASE_URL": new_postgres_database(), "MELDPUNT_REDIS_URL": TEST_REDIS_URL}
    with (
        gunicorn(instance, **common) as (first, _log, _master),
        gunicorn(instance, initialise=False, **common) as (second, _log2, _master2),
    ):
        yield first, second, instance


def _passphrase(page: str) -> str:
    words = re.findall(r"<span>([a-z]+)</span>", page)
    assert len(words) == 7, page
    return " ".join(words)


def test_a_limit_holds_across_servers(two_servers):
    """Sign-in attempts from one address, alternating between the servers (and so between four
    workers): the per-address limit counts them all together, in Redis."""
    first, second, _instance = two_servers
    visitor = Visitor()
    statuses = []
    for attempt in range(2 * SIGN_INS_PER_ADDRESS + 2):
        port = (first, second)[attempt % 2]
        status, _page, _ = visitor.post(port, "/replies?lang=en", {"passphrase": "abacus " * 7}, "/replies?lang=en")
        statuses.append(status)
    assert statuses.count(429) == len(statuses) - SIGN_INS_PER_ADDRESS, statuses
    assert set(statuses[:SIGN_INS_PER_ADDRESS]) <= {200, 400}, statuses
    # Counted per address: another client is not held back by this one's attempts.
    other = Visitor(source="127.0.0.2")
    status, _page, _ = other.post(second, "/replies?lang=en", {"passphrase": "abacus " * 7}, "/replies?lang=en")
    assert status in (200, 400), status


def test_a_session_ends_on_every_server_and_a_report_is_answered_from_the_other(two_servers):
    """A report sent to the first server; its reporter signs in on the second; a handler signs in
    on the second and replies there; the reporter reads the reply on the first; signing out on the
    first ends the session on the second too."""
    from .team_helpers import PASSWORD
    from .test_signin_throttle import enrolled

    first, second, instance = two_servers
    reporter = Visitor()
    status, page, _ = reporter.report(first, REPORT)
    assert status == 200, page
    passphrase = _passphrase(page)
    reference = re.search(r"Reference: (MP-[A-Z0-9]{4}-[A-Z0-9]{4})", page).group(1)
    status, _page, _ = reporter.post(second, "/replies?lang=en", {"passphrase": passphrase})
    assert status == 302, _page
    assert reporter.get(first, "/mailbox?lang=en")[0] == 200  # signed in on the second, seen by the first

    totp = enrolled(instance, "hanna")
    handler = Visitor()
    # The next step's code: enrolment used this step's, and a code counts once.
    fields = {"name": "hanna", "password": PASSWORD, "code": totp.at(time.time() + 30)}
    assert handler.post(second, "/team/signin", fields)[0] == 302
    answer = "MARKER-ANSWER: fixed in 2.5, thank you"
    status, _page, _ = handler.post(
        second, f"/team/reports/{reference}/reply", {"message": answer}, f"/team/reports/{reference}"
    )
    assert status in (302, 303), _page
    status, page, _ = reporter.get(first, "/mailbox?lang=en")
    assert status == 200
    assert answer in page  # sealed by the second server, opened by the first

    status, _page, _ = reporter.post(first, "/logout", {}, "/mailbox?lang=en")
    assert status in (302, 303)
    status, _page, _ = reporter.get(second, "/mailbox?lang=en")
    assert status == 302, "signed out on the first server, still signed in on the second"
    assert handler.get(first, "/team/")[0] == 200  # the team's session, too, is the same on both


def test_redis_never_holds_a_client_address(two_servers, tmp_path):
    """Limits count a keyed hash of the address: a dump of Redis (redis-cli --rdb), taken after
    requests that were counted, holds no trace of the client's address."""
    first, _second, _instance = two_servers
    visitor = Visitor()
    for _ in range(3):
        visitor.post(first, "/replies?lang=en", {"passphrase": "abacus " * 7})
    dump = tmp_path / "dump.rdb"
    host, port = TEST_REDIS_URL.removeprefix("redis://").split("/")[0].split(":")
    subprocess.run(["redis-cli", "-h", host, "-p", port, "--rdb", str(dump)], check=True, capture_output=True)
    data = dump.read_bytes()
    assert b"meldpunt" in data, "the dump holds the limits' keys: the negative control"
    for form in (b"127.0.0.1", b"127.000.000.001", b"7f000001", b"\x7f\x00\x00\x01"):
        assert form not in data, form


# --- the shared parts failing ------------------------------------------------------------------


def test_without_redis_limited_requests_fail_closed_and_pages_work(tmp_path):
    redis = Redis(tmp_path / "redis").start()
    settings = {**LIMITS, "MELDPUNT_REDIS_URL": redis.url}
    try:
        with gunicorn(tmp_path / "instance", **settings) as (port, log, _master):
            visitor = Visitor()
            assert visitor.get(port, "/?lang=en")[0] == 200
            redis.stop()
            assert visitor.get(port, "/?lang=en")[0] == 200
            assert visitor.get(port, "/policy?lang=nl")[0] == 200
            status, page, response = visitor.report(port, REPORT)
            assert status == 503, page
            assert response.getheader("Retry-After") == "60"
            status, page, _ = visitor.post(port, "/replies?lang=nl", {"passphrase": "abacus " * 7})
            assert status == 503
            assert "druk" in page.lower()  # translated: "Het meldpunt is druk"
            assert "Traceback" not in log.read_text()
    finally:
        redis.stop()
    from .served import served_database

    with served_database(tmp_path / "instance"):
        from app.domain.models import Report

        assert Report.select().count() == 0  # refused before anything was stored


def test_postgresql_restarted_under_load_costs_503s_and_nothing_half_stored(tmp_path):
    """`pg_ctl restart` in the middle of bench/load_bench.py: requests in the gap get a 503, every
    report answered is stored whole (with its mailbox), none stored unanswered, and the portal
    serves again by itself."""
    from bench.load_bench import load, mismatches

    # A cluster of its own, to restart: in a folder the postgres account can reach (tmp_path's
    # parents are root's alone).
    own = Path(tempfile.mkdtemp(prefix="meldpunt-pg-"))
    own.chmod(0o755)
    postgres = Postgres(own / "postgres").start()
    try:
        settings = {**LIMITS, "DATABASE_URL": postgres.url, "MELDPUNT_REDIS_URL": TEST_REDIS_URL}
        with gunicorn(tmp_path / "instance", **settings) as (port, log, _master):
            results = {}
            runner = threading.Thread(target=lambda: results.update(run=load(port, seconds=8, clients=6)))
            runner.start()
            time.sleep(2.5)
            postgres.restart()
            runner.join(timeout=120)
            result = results["run"]
            assert result.statuses.get(200, 0) > 0
            assert set(result.statuses) <= {200, 503}, result.statuses
            assert result.statuses.get(503, 0) > 0, "the restart was not noticed: the test proves nothing"
            assert not result.errors
            visitor = Visitor()
            assert visitor.get(port, "/?lang=en")[0] == 200
            status, page, _ = visitor.report(port, REPORT)
            assert status == 200, page
            result.answered.append(re.search(r"Reference: (MP-[A-Z0-9]{4}-[A-Z0-9]{4})", page).group(1))
            assert "Traceback" not in log.read_text()
        assert mismatches(postgres.url, result) == {
            "answered but not stored": 0,
            "stored without a mailbox": 0,
            "stored but never answered": 0,
        }
    finally:
        postgres.stop()
        shutil.rmtree(own, ignore_errors=True)
