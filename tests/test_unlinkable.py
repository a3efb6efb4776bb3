"""A seized database tells the day of arrival, and not the order within it (issue 11, finding 1).

A realistic mix — reports with and without JavaScript, follow-ups, team replies and state changes —
is driven through the portal in a random order. For every table whose rows a reporter causes and
every column (and SQLite's rowid, the order rows sit in on disk), the rows are sorted by that
column and compared with the order they really arrived in: Kendall's tau over pairs of rows made
by different requests. Counters, timestamps or thread positions that grow would give a tau near 1;
the storage must give one near 0.
"""

import io
import itertools
import math
import random

import pytest

from crypto import Meta, seal_bytes

from .conftest import csrf_token, upload_address
from .portal_helpers import REPORT, passphrase_from, sign_in, submit_report
from .team_helpers import team_client
from .test_sealed_uploads import sealed_to, submit, upload

TABLES = ("report", "mailbox", "item", "chunk", "signedin", "spentchallenge")
SIGMAS = 4.5  # how far from 0 a tau may stray by chance (a counter gives 1)


def _snapshot(database) -> dict[str, set]:
    keys = {}
    for table in TABLES:
        column = {"signedin": "token_hash", "spentchallenge": "challenge_hash"}.get(table, "id")
        keys[table] = {row[0] for row in database.execute_sql(f"SELECT {column} FROM {table}")}
    return keys


def _noise(rows: int) -> float:
    """The standard deviation of Kendall's tau between independent orders of `rows` rows."""
    return math.sqrt(2 * (2 * rows + 5) / (9 * rows * (rows - 1))) if rows > 1 else 1.0


def _kendall(pairs: list[tuple[object, int]]) -> float:
    """Kendall's tau between a column's values and arrival numbers, over pairs from different
    arrivals whose values differ (ties say nothing about order)."""
    concordant = discordant = 0
    for (value_a, arrival_a), (value_b, arrival_b) in itertools.combinations(pairs, 2):
        if arrival_a == arrival_b or value_a == value_b or value_a is None or value_b is None:
            continue
        if (value_a < value_b) == (arrival_a < arrival_b):
            concordant += 1
        else:
            discordant += 1
    total = concordant + discordant
    return 0.0 if total == 0 else (concordant - discordant) / total


@pytest.mark.slow
def test_no_column_of_a_reporter_table_tells_the_order_of_arrival(make_portal, team_key):
    from app.domain.db import database, is_sqlite, schema_of

    portal = make_portal(MELDPUNT_POW_BITS=4, MELDPUNT_LIMIT_FOLLOW_UP="1000 per day")
    rng = random.Random(11)
    team = team_client(portal, "alice", "handler")
    mailboxes: list[tuple[object, str]] = []  # (signed-in client, reference)

    def report_without_javascript():
        client = portal.test_client()
        files = [(f"poc{n}.txt", rng.randbytes(rng.randrange(1, 200_000))) for n in range(rng.randrange(0, 3))]
        page = submit_report(client, fields={**REPORT, "description": "x" * rng.randrange(10, 5000)}, files=files)
        assert page.status_code == 200
        sign_in(client, passphrase_from(page.data))
        mailboxes.append(client)

    def report_with_javascript():
        client = portal.test_client()
        token = csrf_token(client.get("/report").data)
        body = rng.randbytes(rng.randrange(100, 90_000))
        handle = upload(client, token, seal_bytes(body, sealed_to(team_key), Meta("report")))
        attachments = [
            upload(
                client,
                token,
                seal_bytes(rng.randbytes(rng.randrange(1, 300_000)), sealed_to(team_key), Meta("attachment")),
            )
            for _ in range(rng.randrange(0, 2))
        ]
        assert submit(client, token, handle, attachments).status_code == 200

    def follow_up():
        client = rng.choice(mailboxes)
        page = client.get("/mailbox")
        files = (
            {"attachments": [(io.BytesIO(rng.randbytes(rng.randrange(1, 100_000))), "more.txt")]}
            if rng.random() < 0.5
            else {}
        )
        data = {"csrf_token": csrf_token(page.data), "message": "y" * rng.randrange(1, 3000), **files}
        assert client.post(upload_address(page.data), data=data, content_type="multipart/form-data").status_code == 302

    def team_action():
        from app.domain.models import Report

        with database.connection_context():
            reference = rng.choice([row.reference for row in Report.select()])
        page = team.get("/team/")
        data = {"csrf_token": csrf_token(page.data), "message": "z" * rng.randrange(1, 2000)}
        team.post(f"/team/reports/{reference}/reply", data=data)

    # Reports to follow up on exist before the measured part, so which kind of row comes when does
    # not follow from the order of events itself.
    for _ in range(8):
        report_without_javascript()
    with database.connection_context():
        before = _snapshot(database)
    actions = [report_without_javascript] * 24 + [report_with_javascript] * 16 + [follow_up] * 24 + [team_action] * 12
    rng.shuffle(actions)
    arrival: dict[str, dict] = {table: {} for table in TABLES}
    for number, action in enumerate(actions):
        action()
        with database.connection_context():
            now = _snapshot(database)
        for table in TABLES:
            for key in now[table] - before[table] - set(arrival[table]):
                arrival[table][key] = number
        before = {table: before[table] | now[table] for table in TABLES}

    found = {}
    with database.connection_context():
        for table in TABLES:
            key_column = {"signedin": "token_hash", "spentchallenge": "challenge_hash"}.get(table, "id")
            columns = [column.name for column in database.get_columns(table, schema=schema_of(table))]
            # The rowid is the order on disk; a WITHOUT ROWID table sits in the order of its key.
            # (PostgreSQL's heap keeps the order of writing until a purge CLUSTERs it:
            # tests/test_file_order.py.)
            rowid = [] if table in ("signedin", "spentchallenge") or not is_sqlite() else ["rowid"]
            rows = database.execute_sql(f"SELECT {', '.join(rowid + columns)} FROM {table}").fetchall()
            keyed = [dict(zip(rowid + columns, row, strict=True)) for row in rows]
            measured = [row for row in keyed if row[key_column] in arrival[table]]
            for column in rowid + columns:
                pairs = [(row[column], arrival[table][row[key_column]]) for row in measured]
                # Ties (a day, a report's id shared by its items) leave fewer independent pairs
                # than rows: the noise is that of the smaller of the two counts.
                independent = min(len({v for v, _ in pairs}), len({a for _, a in pairs}))
                found[f"{table}.{column}"] = (_kendall(pairs), SIGMAS * _noise(independent))
    assert len(arrival["report"]) == 40
    assert len(arrival["item"]) > 100
    leaking = {column: round(tau, 2) for column, (tau, limit) in found.items() if abs(tau) > limit}
    assert not leaking, f"columns that tell the order of arrival: {leaking} (all: {found})"


def test_a_random_id_that_is_taken_is_drawn_again(portal, monkeypatch):
    import datetime

    from app.domain import models
    from app.domain.db import database
    from app.domain.models import Report

    drawn = iter([(1 << 63) + (1 << 50), (1 << 63) + (1 << 50), (1 << 63) + (1 << 51)])
    monkeypatch.setattr(models.secrets, "randbits", lambda bits: next(drawn))
    day = datetime.date(2026, 11, 29)
    with database.connection_context(), database.atomic():
        first = Report.create(reference="MP-AAAA-AAAA", received=day, updated=day)
        second = Report.create(reference="MP-BBBB-BBBB", received=day, updated=day)  # 1 << 50 is taken
    assert (first.id, second.id) == (1 << 50, 1 << 51)


def test_a_credit_name_is_never_in_the_history_and_gone_once_withdrawn(portal, portal_config):
    """Finding 4: names were copied into event details and stayed after withdrawal."""
    from app.domain.db import database, is_sqlite
    from app.domain.models import Credit, Event, Report

    from .test_team_workflow import _post

    client = portal.test_client()
    submit_report(client, files=[])
    team = team_client(portal, "alice", "handler")
    with database.connection_context():
        reference = Report.get().reference
    for state in ("acknowledged", "confirmed", "resolved"):
        _post(team, f"/team/reports/{reference}/state", state=state)
    name = "Credit-Marker Q. Researcher"
    _post(team, f"/team/reports/{reference}/credit", name=name)
    with database.connection_context():
        assert Credit.select().where(Credit.name == name).count() == 1
        assert not [event for event in Event.select() if name in event.detail]
        credit = Credit.get()
    _post(team, f"/team/reports/{reference}/credit/{credit.id}/withdraw")
    with database.connection_context():
        assert Credit.select().count() == 0
        if not is_sqlite():
            return  # the bytes of PostgreSQL's files: tests/test_retention.py and docs/operations.md
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    instance = portal_config["INSTANCE"]
    for path in instance.rglob("*"):
        if path.is_file():
            assert name.encode() not in path.read_bytes(), path.name  # overwritten (secure_delete)
