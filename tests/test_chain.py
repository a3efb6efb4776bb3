"""The history is a hash chain (app/domain/chain.py): every way of rewriting it with sqlite3 —
editing, deleting, reordering, inserting, giving an entry to another account or report,
backdating — is found by `meldpunt audit verify`, and a truncated or recomputed chain is found
against a head saved earlier (issue 11, finding 2)."""

import sqlite3
import threading

import pytest

from . import raw
from .portal_helpers import submit_report
from .team_helpers import team_client
from .test_admin_cli import meldpunt
from .test_retention import _approved_below_default
from .test_team_workflow import _post


@pytest.fixture
def history(make_portal, portal_config, team_key):
    """A portal whose history has entries from two accounts, about two reports, and the command line."""
    from app.domain.db import database
    from app.domain.models import Report

    portal = make_portal()
    client = portal.test_client()
    submit_report(client, files=[])
    submit_report(client, files=[])
    alice = team_client(portal, "alice", "handler")
    bob = team_client(portal, "bob", "handler")
    with database.connection_context():
        first, second = [row.reference for row in Report.select().order_by(Report.reference)]
    _post(alice, f"/team/reports/{first}/state", state="acknowledged")
    _post(bob, f"/team/reports/{second}/state", state="acknowledged")
    alice.get(f"/team/reports/{second}")
    _post(alice, f"/team/reports/{first}/state", state="confirmed")
    instance = portal_config["INSTANCE"]
    (instance / "meldpunt.toml").write_text(
        f'MELDPUNT_TEAM_KEY = "{team_key.public}"\nSECRET_KEY = "{portal_config["SECRET_KEY"]}"\n'
    )
    assert meldpunt("user", "add", "carol", "--role", "auditor", instance=instance).returncode == 0
    return instance, first, second


def _sql(instance, *statements: str) -> None:
    with raw.connect(instance) as db:
        for statement in statements:
            db.run(statement)


def _verify(instance, *heads) -> tuple[int, str]:
    result = meldpunt("audit", "verify", *[arg for head in heads for arg in ("--against", head)], instance=instance)
    return result.returncode, result.stdout + result.stderr


def _entries(instance) -> list[tuple]:
    return raw.run(instance, "SELECT seq, actor, action, reference FROM event ORDER BY seq")


def test_an_untouched_history_verifies(history):
    instance, first, second = history
    code, output = _verify(instance)
    assert code == 0, output
    entries = _entries(instance)
    assert "The history verifies" in output
    assert f"{len(entries) - 1} entries" in output  # and then the verification itself is on record
    assert entries[-1][1:3] == ("command line", "audit-verified")
    actions = [(actor, action) for _, actor, action, _ in entries]
    assert ("alice", "signed-in") in actions
    assert ("alice", "viewed") in actions  # who looked at which report
    assert ("command line", "user-add") in actions  # changes made outside the workspace too
    assert [seq for seq, *_ in entries] == list(range(1, len(entries) + 1))


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ("UPDATE event SET detail = 'nothing happened' WHERE action = 'state' AND actor = 'bob'", "was changed"),
        ("UPDATE event SET at = '2020-01-01 00:00:00' WHERE seq = 3", "was changed"),  # backdated
        ("UPDATE event SET actor = 'alice' WHERE actor = 'bob'", "was changed"),
        (
            "UPDATE event SET user_id = (SELECT id FROM user WHERE name = 'alice') WHERE actor = 'bob'",
            "another account",
        ),
        (
            "UPDATE event SET report_id = (SELECT id FROM report WHERE reference != event.reference) "
            "WHERE action = 'viewed'",
            "another report",
        ),
        ("DELETE FROM event WHERE seq = 4", "entry 4 is missing"),
        ("UPDATE event SET seq = -seq WHERE seq IN (3, 4); UPDATE event SET seq = 7 + seq WHERE seq IN (-3, -4)", ""),
        (
            "INSERT INTO event (seq, reference, actor, action, detail, at, content, digest, redacted) "
            "SELECT seq + 1000, '', 'mallory', 'export', '', at, content, digest, FALSE FROM event WHERE seq = 2",
            "is missing",
        ),
    ],
    ids=["edit", "backdate", "other-actor", "other-account", "other-report", "delete", "reorder", "insert"],
)
def test_every_rewrite_with_sqlite3_is_found(history, tamper, problem):
    instance, *_ = history
    for statement in tamper.split("; "):
        _sql(instance, statement)
    code, output = _verify(instance)
    assert code == 1
    assert "the history is broken" in output
    assert problem in output


def _recompute(instance, keep: int | None = None) -> None:
    """What someone with the database and the code can do: drop the tail and rewrite the rest so
    that it verifies on its own."""

    from app.domain import chain

    with raw.connect(instance) as db:
        if keep is not None:
            db.run("DELETE FROM event WHERE seq > ?", (keep,))
        db.run("UPDATE event SET detail = 'rewritten' WHERE seq = 2")
        previous = chain.GENESIS
        rows = db.run("SELECT seq, at, actor, action, reference, detail, salt FROM event ORDER BY seq")
        for seq, at, actor, action, reference, detail, salt in rows:
            moment = raw.moment(at)
            inner = chain.inner_of(salt, moment, actor, reference, detail)
            content = chain.outer_of(seq, action, moment.date(), inner)
            previous = chain.link(previous, content)
            db.run(
                "UPDATE event SET inner_digest = ?, content = ?, digest = ? WHERE seq = ?",
                (inner, content, previous, seq),
            )
        db.run("UPDATE setting SET value = ? WHERE key = 'audit_chain_head'", (f"{len(rows)}:{previous}".encode(),))


def test_a_recomputed_or_truncated_chain_is_found_against_a_saved_head(history, tmp_path):
    instance, *_ = history
    head = meldpunt("audit", "head", instance=instance).stdout
    # A saved mail: its other lines hold numbers and hex digits too, and are no heads.
    noise = "Message-ID: <177 3f2a 9c1b 77d0 12ab 5e6f 0011@example.nl>\nDate: 29 Nov 2026 08:00:00\n"
    (tmp_path / "mail.txt").write_text(f"{noise}Subject: Meldpunt history\n\nHead: {head.splitlines()[0]}.\n")
    assert _verify(instance, tmp_path / "mail.txt")[0] == 0

    _recompute(instance)
    assert _verify(instance)[0] == 0  # alone, a careful rewrite verifies: that is why heads live outside
    code, output = _verify(instance, tmp_path / "mail.txt")
    assert code == 1
    assert "is not the one saved then" in output

    _recompute(instance, keep=3)
    code, output = _verify(instance, tmp_path / "mail.txt")
    assert code == 1
    assert "the history ends at 3" in output


def test_appends_at_once_never_fork_the_chain(portal):
    from app.domain import chain
    from app.domain.db import database

    def append_many():
        with database.connection_context():
            for _ in range(15):
                chain.append(None, None, "test", actor="thread")

    threads = [threading.Thread(target=append_many) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with database.connection_context():
        verdict = chain.verify()
    assert verdict.ok, verdict.problem
    assert verdict.length >= 90


def test_a_refused_page_is_on_record(history, make_portal):
    from app.domain.db import database
    from app.domain.models import Event

    instance, *_ = history
    portal = make_portal()
    handler = team_client(portal, "dave", "handler")
    assert handler.get("/audit/").status_code == 403
    with database.connection_context():
        assert Event.select().where(Event.actor == "dave", Event.action == "refused").count() == 1


# Blanked as retention does it: the fields, the links and the salt gone, the time cut to the day.
BLANK = (
    "actor = '', reference = '', detail = '', salt = '', user_id = NULL, report_id = NULL, redacted = TRUE, "
    "at = substr(at, 1, 10) || ' 00:00:00'"
)


def test_entries_redacted_by_retention_still_verify(history):
    """Retention blanks sign-in and view entries (their content can no longer be recomputed) and
    names them in its own entry: the chain verifies, and each blank entry is accounted for."""
    instance, *_ = history
    _approved_below_default(instance, "MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS", 0)  # four eyes
    before = _entries(instance)
    purge = meldpunt("purge", instance=instance, env={"MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS": "0"})
    assert purge.returncode == 0, purge.stderr
    with raw.connect(instance) as db:
        blank = [seq for (seq,) in db.run("SELECT seq FROM event WHERE redacted ORDER BY seq")]
        detail = db.run("SELECT detail FROM event WHERE action = 'retention'")[0][0]
        leftovers = db.run("SELECT COUNT(*) FROM event WHERE redacted AND (actor != '' OR reference != '')")
        assert leftovers[0][0] == 0
    redactable = ("signed-in", "signed-out", "sign-in-failed", "viewed", "refused")
    assert blank == [seq for seq, _actor, action, _ref in before if action in redactable]
    assert blank
    from app.domain.chain import span

    assert span(blank) in detail
    code, output = _verify(instance)
    assert code == 0, output


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        # Blanked as retention would, but no retention entry names it: someone hid who looked.
        (f"UPDATE event SET {BLANK} WHERE action = 'viewed'", "no later retention entry names it"),
        # A kind retention never redacts, blanked to hide a state change.
        (f"UPDATE event SET {BLANK} WHERE action = 'state' AND actor = 'bob'", "never redacts a 'state' entry"),
    ],
    ids=["unnamed", "not-redactable"],
)
def test_a_redaction_made_with_sqlite3_is_found(history, tamper, problem):
    instance, *_ = history
    _sql(instance, tamper)
    code, output = _verify(instance)
    assert code == 1
    assert "the history is broken" in output
    assert problem in output


def test_a_redacted_entry_cannot_be_filled_in_again(history):
    """A redacted entry's content is not recomputed, so it must stay blank: an actor written into
    it later (to blame someone for a view) is found."""
    instance, *_ = history
    _approved_below_default(instance, "MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS", 0)  # four eyes
    assert meldpunt("purge", instance=instance, env={"MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS": "0"}).returncode == 0
    _sql(instance, "UPDATE event SET actor = 'bob' WHERE seq = (SELECT MIN(seq) FROM event WHERE redacted)")
    code, output = _verify(instance)
    assert code == 1
    assert "is marked as redacted, but is not blank" in output


def _year_ago(monkeypatch) -> None:
    import datetime

    from app.domain import chain

    then = datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0) - datetime.timedelta(days=400)
    monkeypatch.setattr(chain, "now", lambda: then)


def test_a_retention_entry_covers_only_entries_before_it(portal, monkeypatch):
    """An entry blanked after the retention entry that names it (a number named in advance) is not
    covered."""
    from app.domain import chain
    from app.domain.db import database
    from app.domain.models import Event

    with database.connection_context():
        _year_ago(monkeypatch)
        first = chain.append(None, None, "viewed", actor="alice")
        monkeypatch.undo()
        chain.append(None, None, chain.RETENTION, f"test: {chain.span([first.seq, first.seq + 2])}", actor="x")
        later = chain.append(None, None, "viewed", actor="alice")
        assert later.seq == first.seq + 2
        with database.atomic():
            assert chain.redact([first.seq]) == [first.seq]
        assert chain.verify().ok
        midnight = later.at.replace(hour=0, minute=0, second=0)
        Event.update(actor="", salt="", at=midnight, redacted=True).where(Event.seq == later.seq).execute()
        verdict = chain.verify()
        assert not verdict.ok
        assert f"entry {later.seq} was blanked, and no later retention entry names it" == verdict.problem
        assert verdict.length == later.seq - 1


def test_numbers_named_by_a_retention_entry():
    from app.domain.chain import named, span

    assert span([9, 5, 6, 7, 12, 13, 90]) == "redacted entries 5–7, 9, 12–13, 90"
    assert span([]) == ""
    assert named("x: 3 entries, redacted entries 5–7, 9, 12-13; disabled accounts: 0") == [(5, 7), (9, 9), (12, 13)]
    assert named("redacted entries 1–100, 50–200") == [(1, 200)]
    assert named("no entries") == []


def test_a_transaction_that_reads_first_still_writes_when_another_wrote_meanwhile(portal):
    """SQLite in WAL mode refuses the first write of a transaction that began with a read, at once,
    if another writer committed in between; transactions therefore take the write lock when they
    begin (app/domain/db.py). Before, this was a 500 under concurrent team actions."""
    from app.domain import chain
    from app.domain.db import database
    from app.domain.models import Event

    other_committed, errors = threading.Event(), []

    def reader_then_writer():
        try:
            with database.connection_context(), database.atomic():
                Event.select().count()  # a read first
                other_committed.wait(timeout=1)  # with the lock held, the other waits for us
                chain.append(None, None, "first", actor="thread")
        except Exception as exc:  # noqa: BLE001  (collected and asserted below)
            errors.append(exc)

    def writer():
        try:
            with database.connection_context():
                chain.append(None, None, "second", actor="thread")
            other_committed.set()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    first = threading.Thread(target=reader_then_writer)
    first.start()
    second = threading.Thread(target=writer)
    second.start()
    first.join()
    second.join()
    assert errors == []
    with database.connection_context():
        assert chain.verify().ok


# --- redaction cannot hide an entry (review of issue 11, finding 2) ------------------------------


def _forge_retention(instance, seqs: list[int], days: int, at=None) -> None:
    """What an insider with sqlite3 and the code appends: a retention entry, computed as the portal
    would, naming `seqs` as redacted after `days` days."""
    import datetime

    at = at or datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)
    detail = (
        f"retention on {at.date()}: sign-in, sign-out, view and refusal entries (redacted), {days} days after "
        f"the day they were written: {len(seqs)} entries, {chain_span(seqs)}"
    )
    _forge(instance, "retention", detail, at)


def chain_span(seqs):
    from app.domain import chain

    return chain.span(seqs)


def _forge(instance, action: str, detail: str, at=None) -> int:
    """An entry appended with sqlite3, computed as the portal would: anyone who can write the
    database can do this. Returns its number."""
    import datetime
    import secrets

    from app.domain import chain

    at = at or datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)
    with raw.connect(instance) as db:
        last, previous = db.run("SELECT seq, digest FROM event ORDER BY seq DESC LIMIT 1")[0]
        salt = secrets.token_hex(16)
        inner = chain.inner_of(salt, at, chain.COMMAND_LINE, "", detail)
        content = chain.outer_of(last + 1, action, at.date(), inner)
        digest = chain.link(previous, content)
        db.run(
            "INSERT INTO event (seq, reference, actor, action, detail, at, salt, inner_digest, content, digest, "
            "redacted) VALUES (?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (last + 1, chain.COMMAND_LINE, action, detail, at.isoformat(" "), salt, inner, content, digest, False),
        )
        db.run("UPDATE setting SET value = ? WHERE key = 'audit_chain_head'", (f"{last + 1}:{digest}".encode(),))
    return last + 1


def _seq_of(instance, where: str) -> int:
    return raw.run(instance, f"SELECT MIN(seq) FROM event WHERE {where}")[0][0]


def test_a_state_change_relabelled_as_a_redacted_view_is_found(history, tmp_path):
    """The reviewer's attack: a `state` entry relabelled `viewed`, blanked as retention would, and
    a retention entry appended that names it. The entry's action is in the chain even when it is
    redacted, so the relabelled entry no longer fits, with or without a saved head."""
    instance, *_ = history
    saved = tmp_path / "heads.txt"
    saved.write_text(meldpunt("audit", "head", instance=instance).stdout)
    seq = _seq_of(instance, "action = 'state' AND actor = 'bob'")
    _sql(instance, f"UPDATE event SET action = 'viewed', {BLANK} WHERE seq = {seq}")
    _forge_retention(instance, [seq], 365)
    for heads in ((), (saved,)):
        code, output = _verify(instance, *heads)
        assert code == 1
        assert f"entry {seq} was changed after it was written (its action or day)" in output


def test_a_redacted_entry_moved_to_another_day_is_found(history):
    instance, *_ = history
    _approved_below_default(instance, "MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS", 0)
    assert meldpunt("purge", instance=instance, env={"MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS": "0"}).returncode == 0
    assert _verify(instance)[0] == 0
    seq = _seq_of(instance, "redacted")
    _sql(instance, f"UPDATE event SET at = '2020-01-01 00:00:00' WHERE seq = {seq}")
    code, output = _verify(instance)
    assert code == 1
    assert f"entry {seq} was changed after it was written (its action or day)" in output


def test_a_recent_view_redacted_by_a_forged_retention_entry_is_found(history):
    """A real view entry, blanked with sqlite3 and named by a retention entry forged to look like a
    run: it is not past the default period, and nobody approved a shorter one."""
    instance, *_ = history
    seq = _seq_of(instance, "action = 'viewed'")
    _sql(instance, f"UPDATE event SET {BLANK} WHERE seq = {seq}")
    _forge_retention(instance, [seq], 365)
    code, output = _verify(instance)
    assert code == 1
    assert f"entry {seq} was redacted by entry" in output
    assert "before its period of 365 days had passed" in output


def _assert_an_unapproved_zero_day_redaction_is_found(instance) -> None:
    """A view blanked with sqlite3 and named by a forged retention entry stating 0 days."""
    seq = _seq_of(instance, "action = 'viewed'")
    _sql(instance, f"UPDATE event SET {BLANK} WHERE seq = {seq}")
    _forge_retention(instance, [seq], 0)
    code, output = _verify(instance)
    assert code == 1
    assert "states a period of 0 days: below the default of 365 and not approved before it" in output


def test_a_retention_entry_stating_an_unapproved_short_period_is_found(history):
    instance, *_ = history
    _assert_an_unapproved_zero_day_redaction_is_found(instance)


def test_a_retention_entry_dated_in_the_future_is_found(history):
    """Dating the forged run a year ahead would make a recent view look old enough."""
    import datetime

    instance, *_ = history
    seq = _seq_of(instance, "action = 'viewed'")
    _sql(instance, f"UPDATE event SET {BLANK} WHERE seq = {seq}")
    ahead = datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0) + datetime.timedelta(days=400)
    _forge_retention(instance, [seq], 365, at=ahead)
    code, output = _verify(instance)
    assert code == 1
    assert "which is dated after today" in output


def test_a_redacted_entry_keeps_no_salt_to_test_guesses_against(history):
    """What stays of a redacted entry (its inner hash) cannot be matched to a guess of who and
    when: the salt that went into it is gone."""

    from app.domain import chain

    instance, *_ = history
    before = {}
    for seq, at, actor, reference, detail, salt in raw.run(
        instance, "SELECT seq, at, actor, reference, detail, salt FROM event WHERE action = 'viewed'"
    ):
        before[seq] = (raw.moment(at), actor, reference, detail)
        assert len(salt) == 32
    _approved_below_default(instance, "MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS", 0)
    assert meldpunt("purge", instance=instance, env={"MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS": "0"}).returncode == 0
    with raw.connect(instance) as db:
        for seq, (at, actor, reference, detail) in before.items():
            salt, inner = db.run("SELECT salt, inner_digest FROM event WHERE seq = ?", (seq,))[0]
            assert salt == ""
            assert inner != chain.inner_of("", at, actor, reference, detail)  # the right guess does not match
    assert _verify(instance)[0] == 0


def test_the_period_retention_states_is_the_one_verify_reads():
    """retention.record writes the period in the words chain.verify reads it from."""
    import datetime

    from app.domain import chain, retention

    step = retention.Step(
        retention.ACCESS_EVENTS, 400, datetime.date(2026, 1, 1), (retention.Due("", datetime.date(2025, 1, 1), (5, 6)),)
    )
    planned = retention.Plan(datetime.date(2027, 2, 5), (step,), ())
    detail = retention.record(planned)
    assert chain.named(detail) == [(5, 6)]
    assert chain._STATED_PERIOD.search(detail).group(1) == "400"


@pytest.mark.sqlite
def test_a_read_only_copy_verifies_without_being_changed(history):
    """A copy kept as evidence: --no-record leaves it byte for byte as it was, and on a read-only
    copy (files the verifying user may read, not write) verifying still works and says that it
    was not recorded. Root writes any file, so as root the command runs as nobody."""
    import hashlib
    import os
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    instance, *_ = history
    with sqlite3.connect(instance / "meldpunt.db") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    top = Path(tempfile.mkdtemp())
    try:
        copy = top / "evidence"
        shutil.copytree(instance, copy)

        def digest() -> str:
            return hashlib.sha256((copy / "meldpunt.db").read_bytes()).hexdigest()

        before, entries = digest(), len(_entries(copy))
        output = meldpunt("audit", "verify", "--no-record", instance=copy)
        assert output.returncode == 0, output.stderr
        assert "The history verifies" in output.stdout
        assert len(_entries(copy)) == entries
        assert digest() == before
        for path in [top, copy, *copy.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o444)
        command = [str(Path(sys.executable).parent / "meldpunt"), "audit", "verify"]
        if os.geteuid() == 0:
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
            probe = subprocess.run([*command[:4], sys.executable, "-c", "import app"], capture_output=True)
            if probe.returncode:
                pytest.skip("nobody cannot run this checkout's Python here")
        environment = {**os.environ, "MELDPUNT_INSTANCE": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
        result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60, cwd=top)
        assert result.returncode == 0, result.stderr
        assert "The history verifies" in result.stdout
        assert "not recorded in the history" in result.stderr
        assert digest() == before
    finally:
        shutil.rmtree(top)


def test_a_hold_reason_that_reads_like_an_approved_period_approves_nothing(history):
    """The attacker's review: an approved lift-hold whose reason the team typed as
    "… MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS = 0 days …" was read as an approved period of 0 days, so
    a view blanked with sqlite3 and named by a forged 0-day retention entry verified."""
    instance, *_ = history
    _forge(
        instance,
        "proposal-approved",
        "proposal 7: lift the legal hold (court: MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS = 0 days memo)",
    )
    _assert_an_unapproved_zero_day_redaction_is_found(instance)


def test_a_forged_upgrade_entry_excuses_nothing_in_a_history_that_began_at_version_9(history):
    """Retention entries written before the upgrade to version 9 are held to the period they state;
    a database made at version 9 or later starts with `chain-created`, so an upgrade entry
    appended to it cannot excuse a forged retention entry before it."""
    instance, *_ = history
    assert _entries(instance)[0][2] == "chain-created"
    seq = _seq_of(instance, "action = 'viewed'")
    _sql(instance, f"UPDATE event SET {BLANK} WHERE seq = {seq}")
    _forge_retention(instance, [seq], 0)
    _forge(instance, "chain-upgraded", "the history's chain recomputed with the formula of schema version 9")
    code, output = _verify(instance)
    assert code == 1
    assert "not approved before it" in output


@pytest.mark.parametrize(
    ("column", "value"),
    [
        pytest.param("at", "'garbage'", marks=pytest.mark.sqlite),  # PostgreSQL's types refuse it
        ("digest", "'not hex'"),
        pytest.param("seq", "'x'", marks=pytest.mark.sqlite),
    ],
    ids=["time", "digest", "number"],
)
def test_a_row_that_cannot_be_read_fails_verification_and_breaks_no_page(history, make_portal, column, value):
    """A value no writer of the portal makes: verify names the entry instead of crashing (a crash
    in `meldpunt notify` kept the alarm from going out), and the history page still shows."""
    instance, *_ = history
    _sql(instance, f"UPDATE event SET {column} = {value} WHERE seq = 3")
    code, output = _verify(instance)
    assert code == 1, output
    assert "the history is broken" in output
    assert "Traceback" not in output
    officer = team_client(make_portal(), "otto", "auditor")
    page = officer.get("/audit/history?lang=en")
    assert page.status_code == 200
    assert "no: the history was changed" in page.data.decode()


def test_head_files_that_prove_nothing_are_refused(history, tmp_path):
    """The attacker's review: a head file with its signature removed passed by its digest alone, and
    entry 0 passed whatever its digest. The portal signs every head file it gives out; entry 0 is
    no history at all. A file signed with another key (SECRET_KEY changed since) is checked by its
    digest, and the command's output says so."""
    import json

    from app.domain import chain
    from app.domain.db import bind, database
    from app.domain.settings import Settings

    instance, *_ = history
    settings = Settings.load(instance)
    bind(settings["DATABASE_URL"])
    with database.connection_context():
        document = chain.head_document(settings)
    stripped = {name: value for name, value in document.items() if name != "signature"}
    cases = {
        "stripped.json": (stripped, "signature was removed"),
        "zero.json": ({"seq": 0, "digest": "f" * 64}, "an entry number and a digest"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_text(json.dumps(content))
        code, output = _verify(instance, tmp_path / name)
        assert code == 1
        assert message in output
    (tmp_path / "zero.txt").write_text("entry 0, fingerprint FFFF FFFF FFFF FFFF FFFF\n")
    assert _verify(instance, tmp_path / "zero.txt")[0] == 1
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    code, output = _verify(instance, tmp_path / "deep.json")
    assert code == 1
    assert "Traceback" not in output
    (tmp_path / "huge.txt").write_text("x" * (chain.MAX_HEADS_BYTES + 1))
    code, output = _verify(instance, tmp_path / "huge.txt")
    assert (code, "larger than a file of heads can be" in output) == (1, True)
    # Signed before SECRET_KEY was changed: the file's own key, not this portal's.
    old = chain.head_key(Settings({**settings, "SECRET_KEY": "an-older-secret-key-that-is-long-enough-00"}))
    other = {name: value for name, value in document.items() if name != "signature"}
    other["public_key"] = old.public.hex()
    other["signature"] = old.sign(chain._signed_part(other)).hex()
    (tmp_path / "rotated.json").write_text(json.dumps(other))
    code, output = _verify(instance, tmp_path / "rotated.json")
    assert code == 0, output
    assert "Each of the 1 saved heads is still part of it." in output
    assert f"entry {document['seq']}: {chain.OTHER_KEY}" in output
    # Edited after it was signed, under any key: refused.
    (tmp_path / "edited.json").write_text(json.dumps({**other, "digest": "0" * 64}))
    code, output = _verify(instance, tmp_path / "edited.json")
    assert (code, "changed after it was signed" in output) == (1, True)
