"""The database FILE tells the order of arrival no better than chance once `meldpunt purge` ran
(issue 11, finding 1, the review's "byte order inside SQLite pages").

Random ids order a table's rows, but SQLite writes a new row's bytes below the previous one's in
its page and appends new pages at the end of the file, so in a file that grew row by row the byte
offset of a reference or a lookup hash follows the order reports came in (the control below: a
Kendall's tau near −1). `meldpunt purge` ends by rewriting the file in the order of the random keys
(app/domain/db.py `rewrite`); afterwards an attacker who reads the raw bytes, not through SQL,
finds every reporter's row at an offset that says nothing about when it came. Each reference,
lookup hash and piece of ciphertext is looked up by its bytes, and its offsets are grouped by the
kind of page they are on (a table's row, an index entry, an overflow page): every group is
measured on its own.
"""

import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .portal_helpers import REPORT, submit_report
from .test_admin_cli import meldpunt
from .test_unlinkable import SIGMAS, _kendall, _noise

pytestmark = pytest.mark.sqlite  # the bytes of SQLite's file; PostgreSQL's heap: test_heap_order below

PAGE_KINDS = {2: "index interior", 5: "table interior", 10: "index leaf", 13: "table leaf"}
STRONG = 0.9  # the control: a file that grew row by row orders them at least this well


def _page_kind(blob: bytes, offset: int, page_size: int) -> str:
    page = offset // page_size
    header = page * page_size + (100 if page == 0 else 0)  # page 1 starts with the file header
    return PAGE_KINDS.get(blob[header], "overflow")  # overflow pages start with a page number


def _offsets(blob: bytes, needle: bytes, page_size: int) -> dict[str, int]:
    """Where `needle` is in the file: its first offset on each kind of page."""
    found: dict[str, int] = {}
    at = blob.find(needle)
    while at >= 0:
        found.setdefault(_page_kind(blob, at, page_size), at)
        at = blob.find(needle, at + 1)
    return found


def _order_in_file(path: Path, needles: dict[str, list[bytes]]) -> dict[str, tuple[float, float, int]]:
    """Per kind of needle and kind of page: Kendall's tau between byte offset and arrival (the
    needles' list order), how far from 0 chance may take it, and how many needles are there."""
    from app.domain.db import chunk_file, database

    with database.connection_context():
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # what the portal wrote: into the file
        sizes = [database.execute_sql(f"PRAGMA {schema}.page_size").fetchone()[0] for schema in ("main", "chunks")]
    # The database file and the chunks' own file (app/domain/db.py), each by itself, in its pages.
    blobs = list(zip([file.read_bytes() for file in (path, chunk_file(path))], sizes, strict=True))
    measured = {}
    for label, ordered in needles.items():
        groups: dict[str, list[tuple[int, int]]] = {}
        for arrival, needle in enumerate(ordered):
            if needle is None:  # this report has none of this kind
                continue
            for number, (blob, page_size) in enumerate(blobs):
                for kind, offset in _offsets(blob, needle, page_size).items():
                    groups.setdefault(kind, []).append(((number << 40) + offset, arrival))
        for kind, pairs in groups.items():
            if len(pairs) >= 20:
                measured[f"{label} on {kind} pages"] = (_kendall(pairs), SIGMAS * _noise(len(pairs)), len(pairs))
    return measured


def _needles(references: list[str]) -> dict[str, list[bytes | None]]:
    """Each report's reference, its mailbox's lookup hash, the last bytes of its report's
    ciphertext (a row in a table page) and of its attachment's (on overflow pages; None without
    one), in the order the reports came in."""
    from app.domain.db import database
    from app.domain.models import Chunk, Item, Mailbox, Report

    with database.connection_context():
        ids = {row.reference: row.id for row in Report.select(Report.id, Report.reference)}
        tokens = {row.report_id: row.lookup_hash for row in Mailbox.select()}
        tails: dict[str, dict[int, bytes]] = {"report": {}, "attachment": {}}
        for chunk in Chunk.select(Chunk.data, Item.report, Item.kind).join(Item).order_by(Chunk.seq):
            tails[chunk.item.kind][chunk.item.report_id] = bytes(chunk.data)[-32:]  # the last chunk's
    return {
        "reference": [reference.encode() for reference in references],
        "lookup hash": [tokens[ids[reference]].encode() for reference in references],
        "report ciphertext": [tails["report"][ids[reference]] for reference in references],
        "attachment ciphertext": [tails["attachment"].get(ids[reference]) for reference in references],
    }


def _arrive(portal, rng: random.Random, count: int) -> list[str]:
    """`count` reports through the portal, half with an attachment large enough for overflow
    pages; their references in order."""
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        known = {row.reference for row in Report.select(Report.reference)}
    references = []
    for _ in range(count):
        files = [("poc.bin", rng.randbytes(rng.randrange(70_000, 200_000)))] if rng.random() < 0.5 else []
        fields = {**REPORT, "description": "d" * rng.randrange(10, 4_000)}
        assert submit_report(portal.test_client(), fields=fields, files=files).status_code == 200
        with database.connection_context():
            new = {row.reference for row in Report.select(Report.reference)} - known
        assert len(new) == 1
        references += new
        known |= new
    return references


def _cli_env(portal_config) -> dict:
    keys = ("DATABASE_URL", "SECRET_KEY", "MELDPUNT_TEAM_KEY")
    return {key: str(portal_config[key]) for key in keys}


@pytest.mark.slow
def test_after_purge_no_byte_offset_tells_the_order_of_arrival(make_portal, portal_config):
    portal = make_portal()
    rng = random.Random(1111)
    references = _arrive(portal, rng, 120)
    path = portal_config["INSTANCE"] / "meldpunt.db"
    needles = _needles(references)

    before = _order_in_file(path, needles)
    # The control: the file as the portal wrote it orders references, lookup hashes and the
    # attachments' overflow pages almost perfectly, so this test can see the leak.
    for label in ("reference", "lookup hash", "attachment ciphertext"):
        strongest = max(abs(tau) for name, (tau, _, _) in before.items() if name.startswith(label))
        assert strongest > STRONG, f"the control did not see the order of {label}s: {before}"

    # A connection of the portal's stays open (outside a transaction), so SQLite keeps the log
    # file when the purge's own connection closes: the purge must have emptied it.
    held = sqlite3.connect(path)
    held.execute("SELECT count(*) FROM report").fetchone()
    try:
        result = meldpunt("purge", instance=portal_config["INSTANCE"], env=_cli_env(portal_config))
        assert result.returncode == 0, result.stderr
        assert "Rewrote the database file in the order of its keys" in result.stdout
        log = path.with_name(path.name + "-wal").read_bytes()
    finally:
        held.close()
    assert not [needle for group in needles.values() for needle in group if needle and needle in log]
    assert log == b""
    after = _order_in_file(path, needles)
    assert {name.split(" on ")[0] for name in after} == set(needles)  # every kind of needle was found
    leaking = {name: round(tau, 3) for name, (tau, limit, _) in after.items() if abs(tau) > limit}
    assert not leaking, f"byte offsets that tell the order of arrival after the purge: {leaking} (all: {after})"

    # Reports that come after the purge move cells and split pages; the older rows' places still
    # say nothing about their order. (The newer rows' do, among themselves, until the next purge:
    # docs/threat-model.md.)
    _arrive(portal, rng, 30)
    later = _order_in_file(path, needles)
    leaking = {name: round(tau, 3) for name, (tau, limit, _) in later.items() if abs(tau) > limit}
    assert not leaking, f"older rows ordered again by the rows written after the purge: {leaking} (all: {later})"


def test_a_rewrite_without_the_room_for_it_changes_nothing(portal, portal_config, monkeypatch):
    from app.domain import db
    from app.domain.db import database

    path = portal_config["INSTANCE"] / "meldpunt.db"
    with database.connection_context():
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        before = path.read_bytes()
        needed = db.REWRITE_COPIES * db.used_bytes()
        free = shutil.disk_usage(path.parent)._replace(free=needed - 1)
        monkeypatch.setattr(db.shutil, "disk_usage", lambda folder: free)
        problem = db.rewrite()
        assert problem is not None
        assert "free beside the database" in problem
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    assert path.read_bytes() == before


def test_the_rewrite_can_be_switched_off_and_says_so(make_portal, portal_config):
    make_portal()
    env = _cli_env(portal_config)
    off = meldpunt("purge", instance=portal_config["INSTANCE"], env={**env, "MELDPUNT_REWRITE_ON_PURGE": "false"})
    assert off.returncode == 0, off.stderr
    assert "Not rewritten (MELDPUNT_REWRITE_ON_PURGE = false)" in off.stdout
    settings = portal_config["INSTANCE"] / "meldpunt.toml"
    settings.write_text('MELDPUNT_REWRITE_ON_PURGE = "no"\n')  # a word, as in the environment: off
    said = meldpunt("purge", instance=portal_config["INSTANCE"], env=env)
    assert "Not rewritten (MELDPUNT_REWRITE_ON_PURGE = false)" in said.stdout
    settings.write_text('MELDPUNT_REWRITE_ON_PURGE = "nope"\n')
    wrong = meldpunt("purge", instance=portal_config["INSTANCE"], env=env)
    assert wrong.returncode == 1
    assert "MELDPUNT_REWRITE_ON_PURGE must be on or off" in wrong.stderr


@pytest.mark.slow
def test_the_rewrite_leaves_no_deleted_row_in_the_file_even_without_secure_delete(tmp_path, team_key):
    """The claim of docs/operations.md: the file written anew holds only the rows that remain.
    (tests/test_retention.py shows `secure_delete` alone does it, with the rewrite switched off.)"""
    from .test_retention import OFF_BY_DEFAULT, _files_holding, _instance, _plant_marker

    instance = _instance(tmp_path, team_key)
    reference, markers = _plant_marker(instance)
    assert _files_holding(instance, markers)
    result = subprocess.run(
        [sys.executable, "-c", OFF_BY_DEFAULT, "without-the-apps-pragma", "purge"],
        capture_output=True,
        text=True,
        env={**os.environ, "MELDPUNT_INSTANCE": str(instance), "MELDPUNT_REWRITE_ON_PURGE": "true"},
        timeout=120,
    )
    assert reference in result.stdout
    assert "Rewrote the database file" in result.stdout
    assert result.returncode == 1  # secure_delete was off, and the purge says so
    assert "secure_delete is off" in result.stderr
    assert _files_holding(instance, markers) == []
