"""Schema migrations: a database made by the models of 18f69c2 (version 1) is upgraded by the real
`meldpunt upgrade` without losing a row, and ends with exactly the schema of a new database."""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.domain.db import chunk_file, open_database
from app.domain.schema import LATEST

from . import raw
from .conftest import TEST_DATABASE_URL, instance_database, new_postgres_database
from .legacy import models_18f69c2 as legacy

PORTAL_SECRET = "legacy-secret-key-that-is-long-enough-0123456789"
AWARE = datetime.datetime(2026, 11, 20, 9, 15)
WARNED = datetime.datetime(2026, 11, 20, 17, 40)


def meldpunt(*args, instance: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [Path(sys.executable).parent / "meldpunt", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "MELDPUNT_INSTANCE": str(instance), "DATABASE_URL": instance_database(instance)},
        timeout=60,
    )


def _legacy_instance(folder: Path, team_key) -> Path:
    """An instance folder whose database was made by 18f69c2's models, with rows in every table."""
    folder.mkdir()
    own = f'DATABASE_URL = "{new_postgres_database()}"\n' if TEST_DATABASE_URL else ""
    (folder / "meldpunt.toml").write_text(
        f'MELDPUNT_TEAM_KEY = "{team_key.public}"\nSECRET_KEY = "{PORTAL_SECRET}"\n'
        f'MELDPUNT_BASE_URL = "https://report.example.nl"\n{own}'
    )
    db = _database(folder)
    legacy.database.initialize(db)
    with db.connection_context():
        db.create_tables(legacy.MODELS)
        legacy.Setting.create(key="installation_salt", value=os.urandom(16))
        user = legacy.User.create(name="alice", role="handler", enrolled=True)
        first = legacy.Report.create(reference="MP-AAAA-AAAA", state="fixing", cra_aware_at=AWARE, exploited=True)
        second = legacy.Report.create(reference="MP-BBBB-BBBB", state="duplicate", duplicate_of=first)
        legacy.Mailbox.create(report=first, lookup_token="ab" * 32, public_key=str(team_key.public))
        item = legacy.Item.create(report=first, kind="report", complete=True, size=3)
        legacy.Chunk.create(item=item, seq=0, data=b"\x01\x02\x03")
        legacy.Item.create(report=first, kind="attachment", parent=item, position=1, complete=True)
        legacy.Event.create(report=first, user=user, action="cra:aware", at=AWARE)
        legacy.Event.create(report=first, user=user, action="cra:cra_early_warning", detail="sent", at=WARNED)
        legacy.Event.create(report=second, user=user, action="state", detail="received → duplicate", at=WARNED)
        legacy.Credit.create(report=first, name="Ada L.")
        legacy.Credit.create(report=first, name="Withdrawn W.", withdrawn=True)
        legacy.Event.create(report=first, user=user, action="credit-withdrawn", detail="Withdrawn W.", at=WARNED)
        # For version 7: an account an admin disabled, and a disclosed report.
        legacy.User.create(name="bob", role="handler", enrolled=True, disabled=True)
        legacy.Event.create(user=user, action="user-disable", detail="bob", at=WARNED)
        third = legacy.Report.create(reference="MP-CCCC-CCCC", state="disclosed")
        legacy.Event.create(report=third, user=user, action="state", detail="resolved → disclosed", at=AWARE)
        # `meldpunt notify` had announced the first report, by the highest item id it had seen.
        legacy.Setting.create(key="notify_last_item", value=str(item.id).encode())
        legacy.Item.create(report=second, kind="report", position=0, complete=True)
    return folder


def _database(instance: Path):
    """The instance's database, on its own connection (not the app's): SQLite with foreign keys
    enforced, as 18f69c2 had it, or the instance's PostgreSQL database."""
    url = instance_database(instance)
    if url.startswith("sqlite"):
        from peewee import SqliteDatabase

        return SqliteDatabase(url.removeprefix("sqlite:///"), pragmas={"foreign_keys": 1})
    return open_database(url)


def _rows(instance: Path) -> dict[str, int]:
    """Rows per table; on SQLite the chunk file's too, once there is one (version 12)."""
    db = _database(instance)
    with db.connection_context():
        tables = db.get_tables()
        url = instance_database(instance)
        chunks = chunk_file(Path(url.removeprefix("sqlite:///")))
        if url.startswith("sqlite") and chunks.exists():
            db.execute_sql("ATTACH DATABASE ? AS chunks", (str(chunks),))
            tables += db.get_tables(schema="chunks")
        return {table: db.execute_sql(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in tables}


def _columns(instance: Path) -> dict[str, set[tuple[str, str, bool]]]:
    db = _database(instance)
    with db.connection_context():
        return {
            table: {(c.name, c.data_type.upper(), c.null) for c in db.get_columns(table)} for table in db.get_tables()
        }


@pytest.mark.slow
def test_upgrade_from_18f69c2_keeps_every_row(tmp_path, team_key):
    instance = _legacy_instance(tmp_path / "legacy", team_key)
    before = _rows(instance)

    check = meldpunt("check", instance=instance)
    assert check.returncode == 1
    assert "database schema is behind" in check.stdout
    assert "meldpunt upgrade" in check.stdout

    upgrade = meldpunt("upgrade", instance=instance)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "Applied migration 2" in upgrade.stdout
    assert "Applied migration 3" in upgrade.stdout
    assert "Applied migration 4" in upgrade.stdout
    # Version 9 recomputes the history's chain: the upgrade says the saved heads no longer match.
    assert "Applied migration 9" in upgrade.stdout
    assert "heads saved before this upgrade no longer match" in upgrade.stdout
    assert f"Database schema at version {LATEST}." in upgrade.stdout

    after = _rows(instance)
    grown = {table: after[table] - count for table, count in before.items()}
    # Nothing lost: the version and the history's head recorded, notify's high-water mark turned
    # into counts, the upgrade itself on record; only the withdrawn credit is gone (version 5).
    assert grown == {**dict.fromkeys(before, 0), "setting": 2, "credit": -1, "event": 2}
    assert b"Withdrawn W." not in raw.stored_bytes(instance)  # gone from the file too, on SQLite (VACUUM)
    assert meldpunt("check", instance=instance).returncode == 0

    # What the old schema knew only from events is now on the report itself.
    from app.domain.db import bind, database
    from app.domain.models import Report

    bind(instance_database(instance))
    with database.connection_context():
        first = Report.get(Report.reference == "MP-AAAA-AAAA")
        assert first.cra_early_warning_sent == WARNED
        assert first.cra_notification_sent is None
        assert Report.get(Report.reference == "MP-BBBB-BBBB").duplicate_of_id == first.id
        # notify announced the first report only: the second is still news after the upgrade.
        from app.domain.models import Setting
        from app.domain.notify import LEGACY_COUNTS

        assert Setting.read(LEGACY_COUNTS, "") == '{"message": 0, "report": 1}'
        assert Setting.get_or_none(Setting.key == "notify_last_item") is None

        # Version 5: random ids, every reference still right, threads start at random positions.
        from app.domain.models import Chunk, Credit, Event, Item, Mailbox

        for model in (Report, Mailbox, Item, Chunk):
            assert all(abs(row.id) >= 1 << 40 for row in model.select()), model
        assert Mailbox.get().report_id == first.id
        report_item = Item.get(Item.report == first, Item.kind == "report")
        attachment = Item.get(Item.kind == "attachment")
        assert (attachment.report_id, attachment.parent_id) == (first.id, report_item.id)
        assert attachment.position == report_item.position + 1
        assert report_item.position > 1
        assert Chunk.get().item_id == report_item.id
        assert bytes(Chunk.get().data) == b"\x01\x02\x03"
        second = Report.get(Report.reference == "MP-BBBB-BBBB")
        reported = Event.select().where(Event.report.is_null(False))
        third = Report.get(Report.reference == "MP-CCCC-CCCC")
        assert sorted(event.report_id for event in reported) == sorted([first.id] * 3 + [second.id, third.id])
        assert [(credit.report_id, credit.name) for credit in Credit.select()] == [(first.id, "Ada L.")]
        if database.param == "?":  # SQLite; PostgreSQL checks every foreign key as it is written
            assert database.execute_sql("PRAGMA foreign_key_check").fetchall() == []

        # Version 6: the events, in the order they were written, are a chain that verifies.
        from app.domain import chain

        verdict = chain.verify()
        assert verdict.ok, verdict.problem
        assert verdict.length == 8
        assert [(e.seq, e.actor, e.reference, e.action) for e in Event.select().order_by(Event.seq)] == [
            (1, "alice", "MP-AAAA-AAAA", "cra:aware"),
            (2, "alice", "MP-AAAA-AAAA", "cra:cra_early_warning"),
            (3, "alice", "MP-BBBB-BBBB", "state"),
            (4, "alice", "MP-AAAA-AAAA", "credit-withdrawn"),
            (5, "alice", "", "user-disable"),
            (6, "alice", "MP-CCCC-CCCC", "state"),
            (7, "command line", "", "chain-upgraded"),  # version 9: the chain recomputed
            (8, "command line", "", "upgrade"),  # the upgrade itself, after the events it chained
        ]
        recomputed = Event.get(Event.seq == 7).detail
        assert "formula of schema version 9" in recomputed
        assert "before: 6 entries, head entry 6, fingerprint " in recomputed
        assert "which verified" in recomputed

        # Version 7: the days retention counts from, from the history where it has them.
        from app.domain.models import User

        assert (first.closed_on, first.disclosed_on, first.hold_reason) == (None, None, None)
        assert Report.get_by_id(second.id).closed_on == WARNED.date()  # closed as a duplicate then
        assert Report.get_by_id(third.id).disclosed_on == AWARE.date()
        newest = max([first.updated, *(item.day for item in Item.select().where(Item.report == first))])
        assert Mailbox.get().last_used == newest
        assert User.get(User.name == "bob").disabled_on == WARNED.date()
        assert User.get(User.name == "alice").disabled_on is None
        assert not any(event.redacted for event in Event.select())

    # Upgrading twice changes nothing.
    again = meldpunt("upgrade", instance=instance)
    assert "Applied" not in again.stdout
    assert _rows(instance) == after


@pytest.mark.slow
def test_an_upgraded_database_has_the_schema_of_a_new_one(tmp_path, team_key):
    upgraded = _legacy_instance(tmp_path / "legacy", team_key)
    assert meldpunt("upgrade", instance=upgraded).returncode == 0
    fresh = tmp_path / "fresh"
    if TEST_DATABASE_URL:
        fresh.mkdir()
        (fresh / "meldpunt.toml").write_text(f'DATABASE_URL = "{new_postgres_database()}"\n')
    assert meldpunt("init", "--team-key", team_key.public, instance=fresh).returncode == 0
    assert _columns(upgraded) == _columns(fresh)


def test_upgrade_needs_an_initialised_database(tmp_path, team_key):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "meldpunt.toml").write_text(f'MELDPUNT_TEAM_KEY = "{team_key.public}"\nSECRET_KEY = "{PORTAL_SECRET}"\n')
    result = meldpunt("upgrade", instance=folder)
    assert result.returncode == 1
    assert "meldpunt init" in result.stderr


def test_a_new_database_is_at_the_latest_version(portal):
    from app.domain import schema
    from app.domain.db import database

    with database.connection_context():
        assert schema.current_version() == schema.LATEST
        assert schema.pending() == []


def test_the_portal_refuses_to_serve_a_database_that_is_behind(tmp_path, team_key, caplog):
    from app import create_app

    instance = _legacy_instance(tmp_path / "legacy", team_key)
    config = {"INSTANCE": instance, "MELDPUNT_SECURE_COOKIES": False, "DATABASE_URL": instance_database(instance)}
    portal = create_app(config)
    page = portal.test_client().get("/?lang=en")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "60"
    assert "meldpunt upgrade" in caplog.text
    assert meldpunt("upgrade", instance=instance).returncode == 0
    assert create_app(config).test_client().get("/").status_code == 200


def _append_v1(action: str, at: datetime.datetime, detail: str = "", actor: str = "alice") -> int:
    """An entry as versions 6 to 8 wrote it (one hash of all its fields)."""
    from app.domain import chain, schema
    from app.domain.db import database
    from app.domain.models import Setting

    last = database.execute_sql("SELECT seq, digest FROM event ORDER BY seq DESC LIMIT 1").fetchone()
    seq, previous = (last[0] + 1, last[1]) if last else (1, chain.GENESIS)
    content = schema._content_v1(seq, at, actor, action, "", detail)
    digest = chain.link(previous, content)
    database.execute_sql(
        raw.bound(
            "INSERT INTO event (seq, reference, actor, action, detail, at, content, digest, redacted) "
            "VALUES (?, '', ?, ?, ?, ?, ?, ?, FALSE)"
        ),
        (seq, actor, action, detail, at.isoformat(" "), content, digest),
    )
    Setting.write(chain.HEAD, f"{seq}:{digest}")
    return seq


@pytest.mark.parametrize(
    ("tampered", "days"), [(False, 365), (True, 365), (False, 30)], ids=["intact", "tampered-before", "lowered"]
)
def test_version_9_recomputes_the_chain_and_keeps_what_retention_redacted(tmp_path, team_key, tampered, days):
    """A database at version 8 whose retention redacted a view entry: version 9 recomputes every
    entry with the new formula, the redacted one without a salt and without its old content (which
    could be tested against guesses), records the old head and whether the old chain verified, and
    the chain verifies; `verify` now also checks the redaction's period. A period lowered before
    approvals existed (30 days, no four eyes) still verifies: only later runs need an approval."""
    from app.domain import chain, schema
    from app.domain.db import bind, database
    from app.domain.models import Event, User

    instance = _legacy_instance(tmp_path / "legacy", team_key)
    bind(instance_database(instance))
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)
    with database.connection_context():
        for number in range(2, 9):
            with database.atomic():
                schema.MIGRATIONS[number][1]()
                schema._stamp(number)
        old = _append_v1("viewed", now - datetime.timedelta(days=days + 35), "MP-AAAA-AAAA")
        _append_v1("user-reset", now - datetime.timedelta(days=2), "alice", actor="root")
        # Retention as version 8 redacted: the fields blanked, the time cut to the day, content kept.
        database.execute_sql(
            raw.bound(
                "UPDATE event SET actor = '', detail = '', redacted = TRUE, at = substr(at, 1, 10) || ' 00:00:00' "
                "WHERE seq = ?"
            ),
            (old,),
        )
        run = f"retention on x: sign-in, sign-out, view and refusal entries (redacted), {days} days after the day"
        _append_v1(chain.RETENTION, now, f"{run} they were written: 1 entry, redacted entries {old}", "command line")
        old_content = database.execute_sql(raw.bound("SELECT content FROM event WHERE seq = ?"), (old,)).fetchone()[0]
        if tampered:
            database.execute_sql("UPDATE event SET detail = 'rewritten' WHERE seq = 1")
        head = chain.head()
        with database.atomic():
            schema.MIGRATIONS[9][1]()
            schema._stamp(9)
        verdict = chain.verify()
        assert verdict.ok, verdict.problem
        redacted = Event.get(Event.seq == old)
        assert (redacted.salt, redacted.actor, redacted.action) == ("", "", "viewed")
        assert old_content not in (redacted.inner_digest, redacted.content)
        upgraded = Event.select().order_by(Event.seq.desc()).get()
        assert (upgraded.seq, upgraded.action) == (head.seq + 1, "chain-upgraded")
        assert f"head entry {head.seq}, fingerprint {head.fingerprint}" in upgraded.detail
        if tampered:
            assert "which did not verify: entry 1 was changed after it was written" in upgraded.detail
        else:
            assert "which verified" in upgraded.detail
        # Who issued each account's link, from the history: root reset alice.
        assert User.get(User.name == "alice").issued_by == "root"
        # The relabelling the old formula let through is found now.
        database.execute_sql(raw.bound("UPDATE event SET action = 'signed-in' WHERE seq = ?"), (old,))
        assert chain.verify().problem == f"entry {old} was changed after it was written (its action or day)"
