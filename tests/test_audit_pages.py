"""The privacy officer's pages (app/audit/): who may see them, what they show and what never, the
inventory against the schema, each self-check passing and failing, and the downloads."""

import datetime
import json
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from babel.dates import format_date

from .conftest import csrf_token
from .portal_helpers import REPORT, passphrase_from, sign_in, submit_report
from .team_helpers import settings_of, team_client, team_today

ROOT = Path(__file__).parent.parent
# Each page: its address, and a heading in English and in Dutch.
PAGES = {
    "/audit/": ("Privacy officer", "Privacyfunctionaris"),
    "/audit/inventory": ("Data inventory", "Gegevensinventaris"),
    "/audit/retention": ("Retention", "Bewaartermijnen"),
    "/audit/history": ("History", "Geschiedenis"),
    "/audit/history?user=hanna&reference=": ("History", "Geschiedenis"),
    "/audit/self-check": ("Self-check", "Zelfcontrole"),
    "/audit/processing": ("Record of processing activities", "Register van verwerkingsactiviteiten"),
    "/audit/proposals": ("Proposals", "Voorstellen"),
}
DOWNLOADS = ("/audit/history/head.json", "/audit/processing.md", "/audit/processing.json")
EVERY_ADDRESS = (*PAGES, *DOWNLOADS)


@contextmanager
def _db(portal):
    from app.domain.db import database

    with portal.app_context(), database.connection_context():
        yield


@pytest.fixture
def audited(portal):
    """A portal with a report (markers in every field), a follow-up, a handler's actions on it,
    published credit, and an auditor signed in. Returns (portal, auditor client, secrets)."""
    from app.domain import workflow
    from app.domain.models import Mailbox, Report, User
    from crypto import PublicKey

    reporter = portal.test_client()
    page = submit_report(reporter, fields={**REPORT, "title": "MARKER-TITLE-1d9e", "credit_name": "MARKER-NAME-77aa"})
    passphrase = passphrase_from(page.data)
    sign_in(reporter, passphrase)
    handler = team_client(portal, "hanna", "handler")
    with _db(portal):
        row = Report.get()
        box = Mailbox.get()
        reference = row.reference
        secrets = {
            "passphrase": passphrase,
            "words": passphrase.split(),
            "lookup_hash": box.lookup_hash,
            "public_key": box.public_key,
            "fingerprint": PublicKey.parse(box.public_key).fingerprint,
        }
    handler.get(f"/team/reports/{reference}")  # "viewed"
    with _db(portal):
        row, hanna = Report.get(), User.get(User.name == "hanna")
        for state in ("acknowledged", "confirmed", "resolved"):
            workflow.change_state(settings_of(portal), row, state, hanna)
        workflow.publish_credit(settings_of(portal), row, hanna, "MARKER-NAME-77aa")
    auditor = team_client(portal, "olga", "auditor")
    return portal, auditor, reference, secrets


# --- who may see the pages -----------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("language", ["en", "nl"])
def test_every_page_for_an_auditor_in_both_languages(audited, path, language):
    _portal, auditor, _reference, _secrets = audited
    english, dutch = PAGES[path]
    response = auditor.get(path + ("&" if "?" in path else "?") + f"lang={language}")
    assert response.status_code == 200
    text = response.data.decode().replace("&#39;", "'")
    assert f'<html lang="{language}">' in text
    assert (english if language == "en" else dutch) in text
    # The navigation links every other page, and names this one.
    assert len(re.findall(r'<a href="/audit/[a-z-]*">', text)) >= 5


def test_the_home_page_links_every_page(audited):
    _portal, auditor, _reference, _secrets = audited
    home = auditor.get("/audit/").data.decode()
    for address in (
        "/audit/inventory",
        "/audit/retention",
        "/audit/history",
        "/audit/self-check",
        "/audit/processing",
        "/audit/proposals",
    ):
        assert f'href="{address}"' in home


def test_admins_see_the_pages_too(portal):
    admin = team_client(portal, "ada", "admin")
    for path in EVERY_ADDRESS:
        assert admin.get(path).status_code == 200, path


@pytest.mark.parametrize("language", ["en", "nl"])
def test_a_handler_is_refused_every_page_and_it_is_on_record(portal, language):
    from app.domain.models import Event

    handler = team_client(portal, "hanna", "handler")
    for path in EVERY_ADDRESS:
        response = handler.get(path + ("&" if "?" in path else "?") + f"lang={language}")
        assert response.status_code == 403, path
        text = response.data.decode()
        assert ("You do not have access" if language == "en" else "U hebt geen toegang") in text
        assert "Data inventory" not in text
        assert "hash chain" not in text
    with _db(portal):
        refused = list(Event.select().where(Event.action == "refused", Event.actor == "hanna"))
    assert len(refused) == len(EVERY_ADDRESS)
    assert {event.detail for event in refused} >= {"audit.history", "audit.inventory", "audit.head_file"}


def test_anonymous_visitors_are_refused(client):
    for path in EVERY_ADDRESS:
        assert client.get(path).status_code == 403, path


# --- nothing of a report or a reporter -----------------------------------------------------


def test_no_report_content_and_no_passphrase_derived_value_on_any_audit_page(audited):
    _portal, auditor, reference, secrets = audited
    markers = [
        "MARKER-DESCRIPTION",
        "MARKER-TITLE-1d9e",
        "MARKER-NAME-77aa",
        REPORT["impact"],
        REPORT["system"],
        "poc.html",
        "screenshot.png",
        secrets["passphrase"],
        secrets["lookup_hash"],
        secrets["public_key"],
        secrets["fingerprint"],
        secrets["fingerprint"].replace(" ", ""),
    ]
    addresses = [*EVERY_ADDRESS, f"/audit/history?reference={reference}", "/audit/history?user=hanna"]
    for language in ("en", "nl"):
        for path in addresses:
            text = auditor.get(path + ("&" if "?" in path else "?") + f"lang={language}").data.decode()
            for marker in markers:
                assert marker not in text, (path, marker)
            assert " ".join(secrets["words"][:3]) not in text, path
    # What the officer does see: the history names the report's random reference.
    assert reference in auditor.get(f"/audit/history?reference={reference}").data.decode()


# --- the inventory -------------------------------------------------------------------------

# Columns another part of the work adds; labelled ahead, so a label may name them before they exist.
LABELLED_AHEAD = {
    "report.closed_on",
    "report.disclosed_on",
    "report.hold_reason",
    "mailbox.last_used",
    "user.disabled_on",
    "event.redacted",
}


def test_every_column_of_every_model_has_a_label(portal):
    from app.domain import inventory
    from app.domain.db import database, schema_of
    from app.domain.models import MODELS

    with _db(portal):
        for model in MODELS:
            table = model._meta.table_name
            for column in database.get_columns(table, schema=schema_of(table)):
                label = inventory.label(table, column.name)
                assert label is not None, f"{table}.{column.name} has no label in app/domain/inventory.py"
        assert inventory.unlabelled() == []
        tables = {
            model._meta.table_name: {
                c.name for c in database.get_columns(model._meta.table_name, schema=schema_of(model._meta.table_name))
            }
            for model in MODELS
        }
    for table, labels in inventory.LABELS.items():
        assert table in tables, f"app/domain/inventory.py labels a table that does not exist: {table}"
        for column in labels:
            assert column in tables[table] or f"{table}.{column}" in LABELLED_AHEAD, (
                f"a label for no column: {table}.{column}"
            )


def test_labels_are_complete_and_from_the_known_lists():
    from app.domain import inventory

    for table, labels in inventory.LABELS.items():
        assert table in inventory.PURPOSES
        for column, label in labels.items():
            assert label.category in inventory.CATEGORIES, (table, column)
            assert label.granularity, (table, column)
            assert label.retention, (table, column)
            assert label.basis.startswith(("GDPR art. 6(1)(", "not applicable")), (table, column)
            assert not label.personal or label.basis.startswith("GDPR"), (table, column)


def test_a_new_column_without_a_label_fails_and_shows(audited):
    from app.domain import inventory
    from app.domain.db import database

    portal, auditor, _reference, _secrets = audited
    with _db(portal):
        database.execute_sql("ALTER TABLE report ADD COLUMN reporter_mood TEXT")
        assert inventory.unlabelled() == ["report.reporter_mood"]
    page = auditor.get("/audit/inventory?lang=en").data.decode()
    assert "reporter_mood" in page
    assert "No label: this column is missing from the inventory." in page
    assert "Columns without a label: <code>report.reporter_mood</code>" in page


def test_the_inventory_shows_live_counts_and_sizes(audited):
    from app.domain.db import database

    portal, auditor, _reference, _secrets = audited
    with _db(portal):
        chunk_bytes = database.execute_sql("SELECT SUM(LENGTH(data)) FROM chunk").fetchone()[0]
        chunks = database.execute_sql("SELECT COUNT(*) FROM chunk").fetchone()[0]
    page = auditor.get("/audit/inventory?lang=en").data.decode()
    assert chunk_bytes > 100_000  # the attachments' ciphertext
    summary = re.search(r'<a href="#table-chunk"><code>chunk</code></a></td>\s*<td>([\d,]+)</td>\s*<td>([\d,]+) ', page)
    assert summary
    assert int(summary.group(1).replace(",", "")) == chunks  # numbers as the visitor reads them
    assert int(summary.group(2).replace(",", "")) == chunk_bytes
    report = re.search(r'<a href="#table-report"><code>report</code></a></td>\s*<td>(\d+)</td>', page)
    assert int(report.group(1)) == 1
    assert "ciphertext" in page
    assert "exact time (team)" in page
    assert "GDPR art. 6(1)(c)" in page


# --- the history ---------------------------------------------------------------------------


def test_history_shows_the_chain_verified_with_filters_and_pages(audited):
    from app.domain import chain

    portal, auditor, reference, _secrets = audited
    with _db(portal):
        for number in range(60):
            chain.append(None, None, "user-add", f"test {number}", actor="command line")
        head = chain.head()
    page = auditor.get("/audit/history?lang=en").data.decode()
    assert "yes: every entry follows the one before" in page
    assert head.fingerprint in page
    assert f"<dd>{head.seq}</dd>" in page
    assert "Page 1 of 2" in page
    second = auditor.get("/audit/history?page=2").data.decode()
    assert "Page 2 of 2" in second
    assert ">signed in<" in second  # the oldest entries, on the last page
    mine = auditor.get("/audit/history?user=hanna").data.decode()
    actions = re.findall(r"<td[^>]*>(hanna|olga|command line)</td>", mine)
    assert actions
    assert set(actions) == {"hanna"}
    assert ">viewed<" in mine
    assert ">credit published<" in mine
    one = auditor.get(f"/audit/history?reference={reference.lower()}").data.decode()
    assert "5 entries" in one  # viewed, three state changes, the credit
    assert "Page 1 of 1" not in one  # one page: no page links
    none = auditor.get("/audit/history?reference=MP-NONE-NONE").data.decode()
    assert "0 entries" in none
    assert auditor.get("/audit/history?page=999999999999").status_code == 200


def test_history_says_when_the_chain_is_broken(audited):
    from app.domain.db import database

    portal, auditor, _reference, _secrets = audited
    with _db(portal):
        database.execute_sql("UPDATE event SET actor = 'someone else' WHERE seq = 2")
    page = auditor.get("/audit/history?lang=en").data.decode()
    assert "no: the history was changed" in page
    assert "entry 2 was changed after it was written" in page


def _verify_now(auditor):
    token = csrf_token(auditor.get("/audit/history").data)
    return auditor.post("/audit/history/verify", data={"csrf_token": token}, follow_redirects=True)


def test_a_long_history_is_verified_on_request_and_recorded(audited, monkeypatch):
    """Past VERIFY_ON_VIEW entries the page does not verify on opening (it would be slow); it shows
    the last verification on record, and its button verifies the whole chain and records it. The
    self-check counts only verifications against saved heads: the button checks none."""
    from app.audit import history
    from app.domain import chain
    from app.domain.db import database

    portal, auditor, _reference, _secrets = audited
    monkeypatch.setattr(history, "VERIFY_ON_VIEW", 3)
    page = auditor.get("/audit/history?lang=en").data.decode()
    assert "not on opening: the history is longer than 3 entries" in page
    assert "yes: every entry follows the one before" not in page
    assert re.search(r"Last verification on record</dt>\s*<dd>none</dd>", page)
    never = "never verified against saved heads"
    assert never in auditor.get("/audit/self-check?lang=en").data.decode()
    page = _verify_now(auditor).data.decode()
    assert "The history verifies:" in page
    with _db(portal):
        last = chain.last_verified()
        assert (last.actor, last.action) == ("olga", "audit-verified")
        assert chain.verify()
    day = format_date(last.at.date(), "medium", locale="en")
    assert f"entry {last.seq}, {day}, by olga" in auditor.get("/audit/history?lang=en").data.decode()
    assert never in auditor.get("/audit/self-check?lang=en").data.decode()  # no saved head was checked
    with _db(portal):
        chain.record_verification(chain.verify(), 2)  # as `meldpunt audit verify --against` does
    assert "Last verified against saved heads on" in auditor.get("/audit/self-check?lang=en").data.decode()
    # A broken chain: the button says so and records nothing.
    with _db(portal):
        database.execute_sql("UPDATE event SET actor = 'someone else' WHERE seq = 2")
    page = _verify_now(auditor).data.decode()
    assert "The history does not verify: entry 2 was changed after it was written" in page
    with _db(portal):
        assert chain.last_verified().seq == last.seq + 1  # the one recorded just above
    # Without the form's token: refused, nothing verified or recorded.
    assert auditor.post("/audit/history/verify").status_code == 400


def test_the_head_file_is_a_download_that_verifies(audited):
    from app.domain import chain

    portal, auditor, _reference, _secrets = audited
    response = auditor.get("/audit/history/head.json")
    assert response.headers["Content-Disposition"].startswith("attachment; filename=meldpunt-head-")
    document = json.loads(response.data)
    with _db(portal):
        head = chain.head()
        assert document["seq"] == head.seq
        assert document["digest"] == head.digest
        assert document["organisation"] == settings_of(portal)["MELDPUNT_ORGANISATION"]
        public = chain.head_key(settings_of(portal)).public
        assert document["public_key"] == public.hex()
        saved = chain.read_heads(response.data.decode(), public)
        chain.append(None, None, "later", actor="command line")
        assert chain.verify(saved)
        assert [head.note for head in saved] == [""]
        # Changed after this portal signed it: refused.
        forged = {**document, "digest": "0" * 64}
        with pytest.raises(ValueError, match="changed after it was signed"):
            chain.read_heads(json.dumps(forged), public)
        # Signed with another key (SECRET_KEY rotated since): read by its digest, with a note.
        [rotated] = chain.read_heads(response.data.decode(), bytes(32))
        assert rotated == saved[0]
        assert rotated.note == chain.OTHER_KEY
        assert chain.verify([rotated])


# --- the record of processing --------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "nl"])
def test_record_of_processing_downloads(make_portal, language):
    from .team_helpers import team_client as signed_in

    portal = make_portal(MELDPUNT_ORGANISATION="Gemeente Voorbeeld", MELDPUNT_SMTP_HOST="smtp.example.nl")
    auditor = signed_in(portal, "olga", "auditor")
    markdown = auditor.get(f"/audit/processing.md?lang={language}")
    assert markdown.mimetype == "text/markdown"
    assert markdown.headers["Content-Disposition"] == f"attachment; filename=record-of-processing.{language}.md"
    text = markdown.data.decode()
    title = "Record of processing activities" if language == "en" else "Register van verwerkingsactiviteiten"
    assert text.startswith(f"# {title}")
    assert "Gemeente Voorbeeld" in text
    assert "smtp.example.nl" in text
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert len(headings) == 8
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    assert any("`chunk.data`" in row for row in rows)
    assert all(row.count(" | ") == 4 for row in rows)  # five cells each: no stray pipe
    document = json.loads(auditor.get(f"/audit/processing.json?lang={language}").data)
    assert document["format"] == "meldpunt-record-of-processing"
    assert document["language"] == language
    assert document["title"].startswith(title)
    assert document["controller"]["name"] == "Gemeente Voorbeeld"
    columns = {name for entry in document["personal_data"] for name in entry["columns"]}
    assert {"chunk.data", "mailbox.lookup_hash", "user.name", "event.actor", "credit.name"} <= columns
    assert "report.received" not in columns  # not personal data
    assert len(document["data_subjects"]) == 3
    assert document["security_measures"]
    assert document["transfers"]
    assert document["recipients"]
    page = auditor.get(f"/audit/processing?lang={language}").data.decode()
    assert f"/audit/processing.md?lang={language}" in page
    assert f"/audit/processing.json?lang={language}" in page


def test_record_of_processing_names_the_retention_in_effect(make_portal):
    """A period below its default is not in effect until a second person approves it."""
    from app.domain import processing

    from .team_helpers import settings_of

    portal = make_portal(MELDPUNT_RETAIN_SPAM_DAYS=10, MELDPUNT_RETAIN_MAILBOX_DAYS=400)
    with _db(portal):
        document = processing.record(settings_of(portal), [], "en", datetime.date(2026, 1, 1))
    rules = document["retention"]["rules"]
    assert rules["MELDPUNT_RETAIN_SPAM_DAYS"] == "30"  # configured 10: waiting for approval
    assert rules["MELDPUNT_RETAIN_MAILBOX_DAYS"] == "400"
    assert "`MELDPUNT_RETAIN_MAILBOX_DAYS` = `400`" in processing.markdown(document)


# --- the retention page --------------------------------------------------------------------


def test_retention_page_shows_rules_preview_and_runs(audited):
    from app.domain import chain
    from app.domain.models import Report

    portal, auditor, reference, _secrets = audited
    with _db(portal):
        chain.append(None, None, "purge", "3 unfinished uploads", actor="command line")
        long_ago = team_today(portal) - datetime.timedelta(days=400)
        Report.update(state="spam", closed_on=long_ago).execute()
    page = auditor.get("/audit/retention?lang=en").data.decode()
    assert "<code>MELDPUNT_RETAIN_SPAM_DAYS</code>" in page
    assert "3 unfinished uploads" in page  # the runs so far
    preview = page[page.index('class="retention-preview"') :]
    assert re.search(r"<td><code>spam</code></td><td>[^<]*spam[^<]*</td><td>1 report \(" + reference, preview)
    with _db(portal):
        Report.update(hold_reason="a court order").execute()
    held = auditor.get("/audit/retention?lang=en").data.decode()
    assert "On legal hold, so kept whatever the rules say: " + reference in held
    assert "a court order" not in held


# --- the self-check, one check at a time ----------------------------------------------------


def _check(checks, key):
    return next(check for check in checks if check.key == key)


def test_self_check_page_lists_every_check(audited):
    _portal, auditor, _reference, _secrets = audited
    page = auditor.get("/audit/self-check?lang=en").data.decode()
    for key in (
        "gunicorn-access-log",
        "nginx-access-log",
        "secure-cookies",
        "secure-delete",
        "day-granularity",
        "no-addresses",
        "base-url",
        "retention",
        "last-purge",
        "last-verification",
    ):
        assert f'id="check-{key}"' in page
    # The test portal has plain-http cookies and no base URL: those fail, and the page says so.
    assert re.search(r'id="check-secure-cookies">\s*<td>[^<]+</td>\s*<td><strong class="flag">fail', page)


def test_gunicorn_access_log(tmp_path):
    from app.domain import selfcheck

    assert selfcheck.gunicorn_access_log().status == "pass"
    shipped = (ROOT / "gunicorn.conf.py").read_text()
    changed = tmp_path / "gunicorn.conf.py"
    changed.write_text(shipped.replace("accesslog = None", 'accesslog = "/var/log/access.log"'))
    assert selfcheck.gunicorn_access_log(changed).status == "fail"
    changed.write_text(shipped.replace('logger_class = "app.web.server_log.ServerLog"', ""))
    assert selfcheck.gunicorn_access_log(changed).status == "fail"
    asked = selfcheck.gunicorn_access_log(environment={"GUNICORN_CMD_ARGS": "--access-logfile -"})
    assert asked.status == "fail"
    assert "GUNICORN_CMD_ARGS" in asked.why


def test_nginx_access_log(tmp_path):
    from app.domain import selfcheck

    shipped = selfcheck.nginx_access_log()
    assert shipped.status == "pass"
    assert shipped.values["count"] == 3
    folder = tmp_path / "nginx"
    shutil.copytree(ROOT / "deploy" / "nginx", folder)
    portal = folder / "portal.conf"
    portal.write_text(portal.read_text().replace("access_log off;", "access_log /var/log/nginx/meldpunt.log;"))
    logged = selfcheck.nginx_access_log(folder)
    assert logged.status == "fail"
    assert logged.values["file"] == "portal.conf"
    portal.write_text(portal.read_text().replace("access_log /var/log/nginx/meldpunt.log;", ""))
    missing = selfcheck.nginx_access_log(folder)
    assert missing.status == "fail"
    assert missing.values["file"] == "meldpunt.conf"


def test_secure_cookies_and_base_url():
    from app.domain import selfcheck
    from app.domain.settings import Settings

    assert selfcheck.secure_cookies(Settings({"MELDPUNT_SECURE_COOKIES": True})).status == "pass"
    assert selfcheck.secure_cookies(Settings({"MELDPUNT_SECURE_COOKIES": False})).status == "fail"
    assert selfcheck.base_url(Settings({"MELDPUNT_BASE_URL": "https://report.example.nl"})).status == "pass"
    assert selfcheck.base_url(Settings({"MELDPUNT_BASE_URL": None})).status == "fail"


def test_retention_configured_checks_the_periods_in_effect(portal):
    """Not "some setting is there": each period as `meldpunt purge` applies it, and a period set
    below its default without approval is a failure (the default applies, not the file's value)."""
    from app.domain import selfcheck
    from app.domain.db import database
    from app.domain.settings import DEFAULTS
    from app.domain.settings import Settings as Loaded

    def Settings(values: dict) -> Loaded:
        return Loaded({**DEFAULTS, **values})

    with database.connection_context():
        defaults = selfcheck.retention_configured(Settings({}))
        assert defaults.status == "pass"
        assert "MELDPUNT_RETAIN_SPAM_DAYS = 30" in defaults.values["effect"]
        longer = selfcheck.retention_configured(Settings({"MELDPUNT_RETAIN_SPAM_DAYS": 60}))
        assert (longer.status, "MELDPUNT_RETAIN_SPAM_DAYS = 60" in longer.values["effect"]) == ("pass", True)
        lowered = selfcheck.retention_configured(Settings({"MELDPUNT_RETAIN_SPAM_DAYS": 7}))
        assert lowered.status == "fail"
        assert lowered.values["names"] == "MELDPUNT_RETAIN_SPAM_DAYS (7 < 30)"
        assert "MELDPUNT_RETAIN_SPAM_DAYS = 30" in lowered.values["effect"]
        wrong = selfcheck.retention_configured(Settings({"MELDPUNT_RETAIN_SPAM_DAYS": "soon"}))
        assert wrong.status == "fail"
        assert "MELDPUNT_RETAIN_SPAM_DAYS" in wrong.values["problem"]


@pytest.mark.sqlite
def test_secure_delete(portal):
    from app.domain import selfcheck
    from app.domain.db import database

    with _db(portal):
        database.execute_sql("PRAGMA secure_delete = 1")
        assert selfcheck.secure_delete().status == "pass"
        database.execute_sql("PRAGMA secure_delete = 0")
        assert selfcheck.secure_delete().status == "fail"
        database.execute_sql("PRAGMA secure_delete = FAST")
        assert selfcheck.secure_delete().status == "fail"


def test_secure_delete_is_not_a_question_for_postgresql(monkeypatch):
    from peewee import PostgresqlDatabase

    from app.domain import selfcheck

    class Elsewhere:
        obj = PostgresqlDatabase(None)

    monkeypatch.setattr(selfcheck, "database", Elsewhere())
    assert selfcheck.secure_delete().status == "not applicable"


def test_day_granularity(audited):
    from app.domain import selfcheck
    from app.domain.db import database, is_sqlite
    from app.domain.models import Report

    portal, *_ = audited
    with _db(portal):
        assert selfcheck.day_granularity().status == "pass"
        Report.update(cra_aware_at=datetime.datetime(2026, 1, 1, 12, 0, 5)).execute()  # the team's own time
        assert selfcheck.day_granularity().status == "pass"
        if is_sqlite():  # PostgreSQL's date type cannot hold a time of day
            with database.atomic() as transaction:
                database.execute_sql("UPDATE item SET day = '2026-01-01 12:34:56'")
                found = selfcheck.day_granularity()
                assert found.status == "fail"
                assert re.fullmatch(r"item\.day \(\d+\)", found.values["columns"])
                assert "12:34" not in found.why % found.values
                transaction.rollback()
        with database.atomic() as transaction:
            database.execute_sql("UPDATE report SET hold_reason = 'seen at 2026-01-01T09:15'")
            assert selfcheck.day_granularity().values["columns"] == "report.hold_reason (1)"
            transaction.rollback()
        database.execute_sql(
            "INSERT INTO signedin (token_hash, kind, day, ends) "
            "VALUES ('x', 'reporter', '2026-01-01', '2026-01-01 10:00:00')"
        )
        assert selfcheck.day_granularity().values["columns"] == "signedin.ends (1)"
        database.execute_sql("DELETE FROM signedin WHERE token_hash = 'x'")
        assert selfcheck.day_granularity().status == "pass"
        database.execute_sql(f"ALTER TABLE mailbox ADD COLUMN opened_at {'DATETIME' if is_sqlite() else 'TIMESTAMP'}")
        typed = selfcheck.day_granularity()
        assert typed.status == "fail"
        assert typed.values["columns"] == "mailbox.opened_at"


@pytest.mark.parametrize(
    "planted",
    [
        "from 203.0.113.77 yesterday",
        "peer 2001:db8::42 connected",
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "curl/8.5.0",
    ],
)
def test_no_addresses_finds_planted_values_and_never_shows_them(audited, planted):
    from app.domain import selfcheck
    from app.domain.models import Setting

    portal, auditor, _reference, _secrets = audited
    with _db(portal):
        clean = selfcheck.no_addresses()
        assert clean.status == "pass", clean.values
        Setting.write("planted", planted)
        found = selfcheck.no_addresses()
    assert found.status == "fail"
    assert "setting.value (1)" in (found.values["addresses"] + found.values["agents"])
    page = auditor.get("/audit/self-check?lang=en").data.decode()
    assert "setting.value (1)" in page
    assert planted not in page
    assert planted.split()[-1] not in page


def test_addresses_and_browsers_are_told_from_look_alikes():
    from app.domain.selfcheck import looks_like_address, looks_like_user_agent

    for text in ("10.0.0.1", "at ::1 now", "2001:0db8:0000:0000:0000:ff00:0042:8329", "::ffff:10.0.0.1", "fe80::1."):
        assert looks_like_address(text), text
    for text in (
        "version 1.2.3.4.5",
        "999.1.1.1",
        "12:30:45",
        "2026-01-01 12:30:45",
        "cra:aware",
        "Foo::bar",
        "a :: b",
    ):
        assert not looks_like_address(text), text
    assert looks_like_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
    assert not looks_like_user_agent("the Mozilla Foundation")


def test_last_purge_and_last_verification(portal):
    from app.domain import chain, selfcheck

    with _db(portal):
        assert selfcheck.last_purge().status == "fail"
        assert selfcheck.last_verification().status == "fail"
        purge = chain.append(None, None, "purge", "0 unfinished uploads", actor="command line")
        chain.record_verification(chain.verify(), 0)  # no head kept outside: proves little
        assert selfcheck.last_verification().status == "fail"
        verified = chain.record_verification(chain.verify(), 1)
        assert selfcheck.last_purge().status == "pass"
        assert selfcheck.last_purge().values["seq"] == purge.seq
        assert selfcheck.last_verification().status == "pass"
        assert selfcheck.last_verification().values["seq"] == verified.seq
        later = purge.at + datetime.timedelta(days=3)
        assert selfcheck.last_purge(later).status == "fail"
        assert selfcheck.last_verification(later).status == "pass"
        assert selfcheck.last_verification(verified.at + datetime.timedelta(days=40)).status == "fail"
