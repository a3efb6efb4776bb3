"""What only PostgreSQL has to show: the physical order of a table's rows (its heap), which the
nightly purge blurs there by CLUSTERing each reporter table on its random key, as it rewrites the
SQLite file (tests/test_file_order.py). Runs on the PostgreSQL run only."""

import pytest

from . import raw
from .conftest import TEST_DATABASE_URL
from .portal_helpers import submit_report
from .test_admin_cli import meldpunt
from .test_unlinkable import SIGMAS, _kendall, _noise

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL's heap: set MELDPUNT_TEST_DATABASE_URL")

REPORTS = 40
STRONG = 0.9  # the control: a heap that grew row by row orders them at least this well


def _heap_order(instance, table: str, key: str) -> dict[object, tuple[int, int]]:
    """Each row's place in the heap (its ctid: page, then slot)."""
    rows = raw.run(instance, f'SELECT {key}, ctid::text FROM "{table}"')
    return {value: tuple(int(part) for part in place.strip("()").split(",")) for value, place in rows}


def test_after_purge_the_heap_order_tells_nothing_of_arrival(portal, portal_config):
    instance = portal_config["INSTANCE"]
    client = portal.test_client()
    arrival = {}
    for number in range(REPORTS):
        submit_report(client, files=[])
        for (reference,) in raw.run(instance, "SELECT reference FROM report"):
            arrival.setdefault(reference, number)
    before = _heap_order(instance, "report", "reference")
    pairs = [(place, arrival[reference]) for reference, place in before.items()]
    assert _kendall(pairs) > STRONG, "the control: rows written one by one sit in the order they came"

    (instance / "meldpunt.toml").write_text(
        f'MELDPUNT_TEAM_KEY = "{portal_config["MELDPUNT_TEAM_KEY"]}"\nSECRET_KEY = "{portal_config["SECRET_KEY"]}"\n'
    )
    purge = meldpunt("purge", instance=instance)
    assert purge.returncode == 0, purge.stderr
    assert "Rewrote the reporters' tables in the order of their keys (CLUSTER)" in purge.stdout
    for table, key, arrived in (
        ("report", "reference", arrival),
        ("mailbox", "lookup_hash", None),
        ("item", "id", None),
    ):
        after = _heap_order(instance, table, key)
        if arrived is None:  # each report's rows came with it: their arrival is their report's
            links = {"mailbox": "report_id", "item": "report_id"}[table]
            owner = dict(raw.run(instance, f'SELECT {key}, {links} FROM "{table}"'))
            by_id = dict(raw.run(instance, "SELECT id, reference FROM report"))
            arrived = {value: arrival[by_id[owner[value]]] for value in after if owner[value] in by_id}
        pairs = [(place, arrived[value]) for value, place in after.items() if value in arrived]
        independent = min(len({p for p, _ in pairs}), len({a for _, a in pairs}))
        assert abs(_kendall(pairs)) <= SIGMAS * _noise(independent), table
