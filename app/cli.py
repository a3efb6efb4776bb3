"""`meldpunt`: set up, check, upgrade and run the regular jobs of an instance. Uses the domain
layer directly, without a Flask app, so it works before the portal can start."""

import secrets
import sys
import tomllib
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

try:
    import click
    import peewee  # noqa: F401  (checked here so that a missing portal extra is one sentence)
except ImportError:  # the offline tool's install (`pip install meldpunt`) has no portal libraries
    sys.exit("meldpunt: the portal's tools need its libraries: pip install 'meldpunt[portal]'")

from crypto import CryptoError, PrivateKey, PublicKey

from .domain import schema
from .domain import settings as config
from .domain.db import bind, database
from .domain.settings import Settings


def _write_settings(path: Path, values: dict) -> None:
    lines = []
    for key, value in values.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"')
    path.write_text("# Written by `meldpunt init`; environment variables override these.\n" + "\n".join(lines) + "\n")
    path.chmod(0o600)


def _load() -> Settings:
    """The instance's settings, with the database bound to them."""
    try:
        loaded = Settings.load(notice_private=True)  # `notify` opens the news addresses
        loaded.validate()
    except config.ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    bind(loaded["DATABASE_URL"])
    return loaded


@click.group()
def main() -> None:
    """Set up and check a Meldpunt instance."""


@main.command()
@click.option("--team-key", required=True, help="The team's public key line (mpk1…), from `meldpunt-team keygen`.")
@click.option("--dev", is_flag=True, help="Allow plain-http cookies, for development on localhost only.")
def init(team_key: str, dev: bool) -> None:
    """Create the instance file, the database schema, the installation salt and secrets."""
    try:
        key = PublicKey.parse(team_key)
    except CryptoError as exc:
        raise click.ClickException(str(exc)) from None
    folder = config.instance_path()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = config.instance_file(folder)
    values = tomllib.loads(path.read_text()) if path.exists() else {}
    if values.get("MELDPUNT_TEAM_KEY", str(key)) != str(key):
        raise click.ClickException(f"{path} already names another team key; edit it to change keys.")
    values["MELDPUNT_TEAM_KEY"] = str(key)
    values.setdefault("SECRET_KEY", secrets.token_hex(32))
    # The notice key's private half stays here, never in the database (app/domain/news.py).
    values.setdefault("MELDPUNT_NOTICE_KEY", PrivateKey.generate().secret_bytes().hex())
    if dev:
        values["MELDPUNT_SECURE_COOKIES"] = False
    _write_settings(path, values)
    _load()
    from .domain.reports import initialise

    initialise()
    click.echo(f"Instance ready in {folder}. Team key fingerprint: {key.fingerprint}")


@main.command()
def check() -> None:
    """Print what is configured and what is missing; exit 1 if the portal cannot start."""
    folder = config.instance_path()
    try:
        settings = config.load(folder)
    except config.ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    problems = 0

    def line(ok: bool, text: str) -> None:
        nonlocal problems
        problems += 0 if ok else 1
        click.echo(f"[{'ok' if ok else '!!'}] {text}")

    line(config.instance_file(folder).exists(), f"instance file {config.instance_file(folder)}")
    try:
        key = config.team_key(settings)
        line(True, f"team key {key.fingerprint}")
    except config.ConfigError as exc:
        line(False, str(exc))
    try:
        config.check_secret(settings)
        line(True, "SECRET_KEY set")
    except config.ConfigError as exc:
        line(False, str(exc))
    line(*_checked_values(settings))
    line(_database_ready(settings), f"database {_redacted(settings['DATABASE_URL'])}")
    line(*_run_dir_usable(settings))
    behind = _pending_migrations(settings)
    line(not behind, "database schema up to date" if not behind else f"database schema is behind: {behind}")
    try:
        parsed = Settings(settings)
        notice = bool(parsed.notice_keys)
        if parsed.notice_previous_only:
            line(
                False,
                "MELDPUNT_NOTICE_KEY_PREVIOUS is set without MELDPUNT_NOTICE_KEY: news mail for reporters is off "
                "and no address is resealed (set the current notice key; docs/operations.md)",
            )
        else:
            click.echo(
                "[ok] notice key set: reporters may leave an address for news"
                if notice
                else "[--] no notice key (MELDPUNT_NOTICE_KEY): no news mail for reporters (run `meldpunt init`)"
            )
    except config.ConfigError as exc:
        line(False, str(exc))
    translations = config.ROOT / "app" / "translations" / "nl" / "LC_MESSAGES" / "messages.mo"
    line(translations.exists(), "Dutch translations compiled (make translations)")
    from .domain.bundle import BUNDLES, copies_current

    static = config.ROOT / "static"
    built = [bundle for bundle in BUNDLES if (static / bundle).exists()]
    if built:
        # Both or neither: without the derive bundle the report form and sign-in use the server path.
        line(len(built) == len(BUNDLES), f"browser-side encryption bundles (static/{', static/'.join(BUNDLES)})")
        line(
            all(copies_current(static, bundle) for bundle in built),
            "their gzip and brotli copies made from them (otherwise they are sent uncompressed: run make bundle)",
        )
    else:
        click.echo("[--] no browser bundle: reports are sealed on the server only (install npm, run make bundle)")
    problem = _base_url_problem(settings.get("MELDPUNT_BASE_URL"), production=settings["MELDPUNT_SECURE_COOKIES"])
    if problem is None and not settings.get("MELDPUNT_BASE_URL"):
        click.echo("[--] base URL: not set (development only: taken from each request's Host header)")
    else:
        line(problem is None, problem or f"base URL {settings['MELDPUNT_BASE_URL']}")
    info = [
        ("MELDPUNT_ONION_ADDRESS", "onion address, sent as Onion-Location"),
        ("MELDPUNT_POLICY_DIR", "own policy texts (otherwise the default policy)"),
    ]
    for name, text in info:
        click.echo(f"[--] {text}: {settings.get(name) or 'not set'}")
    click.echo(f"[--] secure cookies: {'on' if settings['MELDPUNT_SECURE_COOKIES'] else 'OFF (development only)'}")
    sys.exit(1 if problems else 0)


def _checked_values(settings: dict) -> tuple[bool, str]:
    try:
        Settings(settings).validate()
    except config.ConfigError as exc:
        return False, str(exc)
    return True, "every setting has a value of its kind (numbers, switches, times, time zone, periods)"


def _base_url_problem(value: object, production: bool) -> str | None:
    """What is wrong with MELDPUNT_BASE_URL, or None. Absolute URLs come from it alone, never from
    a request's Host header, so production needs one (docs/deployment.md, "Addresses")."""
    example = "such as https://report.example.nl"
    if not value:
        if not production:
            return None
        return (
            "MELDPUNT_BASE_URL is not set: security.txt is not served and enrolment links have no address; "
            f"set it to the address reporters use, {example}"
        )
    url = _origin(str(value))
    if url is None:
        return f"MELDPUNT_BASE_URL {value!r} is not a scheme and host alone, {example}"
    if production and url.scheme == "http" and not url.hostname.endswith(".onion"):
        return f"MELDPUNT_BASE_URL {value!r} is plain http, but the session cookie is Secure: use https (or .onion)"
    return None


def _origin(value: str) -> SplitResult | None:
    """The URL if it is http(s)://host[:port] and nothing else (a path would be added twice)."""
    try:
        url = urlsplit(value)
        url.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return None
    if url.scheme not in ("http", "https") or not url.hostname or "@" in url.netloc:
        return None
    return None if url.path.strip("/") or url.query or url.fragment else url


def _database_ready(settings: dict) -> bool:
    try:
        bind(settings["DATABASE_URL"])
        with database.connection_context():
            from .domain.models import Setting
            from .domain.reports import SALT_SETTING

            return schema.current_version() is not None and bool(Setting.get_or_none(key=SALT_SETTING))
    except Exception:  # noqa: BLE001  (any failure here means "not ready", said on the line)
        return False


def _run_dir_usable(settings: dict) -> tuple[bool, str]:
    """The derivation slots are lock files: the folder must be writable and lockable (a local file
    system; NFS fakes flock), or every derivation would fail."""
    from .domain.derivations import SharedSemaphore

    folder = Path(str(settings["MELDPUNT_RUN_DIR"]))
    try:
        Settings(settings).derivations  # noqa: B018  (a cap of 0, or no number, is refused here)
        slots = SharedSemaphore(folder, 1)
        if not slots.acquire(timeout=5):
            return False, f"derivation slots in {folder}: the slot is held by another process for too long"
        slots.release()
    except config.ConfigError as exc:
        return False, str(exc)
    except OSError as exc:
        return False, f"derivation slots in {folder}: {exc.strerror or exc} (set MELDPUNT_RUN_DIR to a writable folder)"
    return True, f"derivation slots in {folder}"


def _pending_migrations(settings: dict) -> str:
    """'' when the schema is current; otherwise what to run, in words."""
    try:
        bind(settings["DATABASE_URL"])
        with database.connection_context():
            pending = schema.pending()
    except Exception:  # noqa: BLE001  (an unreachable database is reported on the line above)
        return ""
    if not pending:
        return ""
    return f"{len(pending)} migration(s) to apply, run `meldpunt upgrade`"


def _redacted(url: str) -> str:
    if "@" in url:  # hide a password in postgresql://user:password@host/db
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.split('@', 1)[1]}"
    return url


@main.command()
def upgrade() -> None:
    """Bring the database schema up to date (back it up first; see docs/operations.md)."""
    _load()
    with database.connection_context():
        if schema.current_version() is None:
            raise click.ClickException("the database is empty: run `meldpunt init` first")
        applied = schema.upgrade()
        version = schema.current_version()
        if applied:
            _record("upgrade", ", ".join(str(number) for number, _ in applied))
    for number, description in applied:
        click.echo(f"Applied migration {number}: {description}")
    click.echo(f"Database schema at version {version}.")


@main.command()
@click.option(
    "--dry-run", is_flag=True, help="Print what a run would delete under the retention rules, and why; change nothing."
)
def purge(dry_run: bool) -> None:
    """Apply the retention rules (docs/operations.md) and delete uploads that never became part of a
    report (older than today), ended sessions and expired proof-of-work challenges; then make the
    deletion physical (SQLite: the WAL copied back and truncated); last, rewrite the SQLite file in
    the order of its random keys, so that only rows written since then keep the order they came in
    (MELDPUNT_REWRITE_ON_PURGE; docs/operations.md, "The nightly rewrite")."""
    import time

    loaded = _load()
    from .domain import retention
    from .domain.chain import PURGE_INCOMPLETE, PURGED
    from .domain.clock import today
    from .domain.db import MIB, durable, erases_deleted_rows, is_sqlite, rewrite, truncate_wal, used_bytes
    from .domain.sessions import purge_expired
    from .domain.uploads import purge_unfinished, sweep_orphan_chunks

    with database.connection_context(), durable():  # retention deletes items, then their chunks
        try:
            planned = retention.plan(loaded, today(loaded.zone))
        except config.ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        if dry_run:
            click.echo(f"Dry run for {planned.day.isoformat()}: nothing is deleted. A run today would delete:")
            for line in retention.describe(planned):
                click.echo(f"  {line}")
            click.echo("  and, as every run: uploads from before today that never became part of a report,")
            click.echo("  ended sessions and used proof-of-work challenges.")
            return
        rewriting = loaded.flag("MELDPUNT_REWRITE_ON_PURGE")
        erased = erases_deleted_rows() or not is_sqlite()
        deleted = retention.run(loaded, planned)
        stale = purge_unfinished(loaded)
        orphans = sweep_orphan_chunks()
        ended = purge_expired(loaded)
        truncated = truncate_wal()
        not_rewritten, size, started = None, used_bytes(), time.monotonic()
        if rewriting:
            not_rewritten = rewrite()
            truncated = truncate_wal()  # the rewrite went through the log: empty it again
        took = time.monotonic() - started
        problems = _purge_problems(erased, truncated, not_rewritten)
        # Recorded last, with how it ended: the self-check counts only a `purge` that did all of it.
        _record(
            PURGED if not problems else PURGE_INCOMPLETE,
            f"{stale} unfinished uploads, {orphans} chunks of deleted items, {ended} ended sessions and used challenges"
            + "".join(f"; {problem}" for problem in problems),
        )
        truncate_wal()  # that entry is no reporter's, but leave the log as empty as the purge found it
    click.echo(f"Retention on {deleted.day.isoformat()}: deleted")
    for line in retention.describe(deleted):
        click.echo(f"  {line}")
    click.echo(f"Deleted {stale} unfinished uploads.")
    if orphans:
        click.echo(f"Deleted {orphans} chunks whose items were gone (left by an interrupted deletion).")
    click.echo(f"Deleted {ended} ended sessions and used challenges.")
    if not rewriting:
        click.echo("Not rewritten (MELDPUNT_REWRITE_ON_PURGE = false): rows keep the order they came in, in the file.")
    elif not_rewritten is None and is_sqlite():
        click.echo(f"Rewrote the database file in the order of its keys: {size / MIB:.1f} MiB in {took:.1f} s.")
    elif not_rewritten is None:
        click.echo(f"Rewrote the reporters' tables in the order of their keys (CLUSTER) in {took:.1f} s.")
    if problems:
        raise click.ClickException("; ".join(problems))


def _purge_problems(erased: bool, truncated: bool, not_rewritten: str | None) -> list[str]:
    from .domain.db import is_sqlite

    problems = []
    if not erased:
        problems.append(
            "SQLite's secure_delete is off on this connection: what was deleted stays in the file's free pages"
        )
    if not truncated:
        problems.append(
            "the write-ahead log stayed in use by the portal: old copies of deleted rows may remain in meldpunt.db-wal "
            "until `meldpunt purge` runs again at a quieter moment"
        )
    if not_rewritten is not None and is_sqlite():
        problems.append(
            f"the database file was not rewritten ({not_rewritten}): rows written since its last rewrite keep the "
            "order they came in until a later `meldpunt purge` rewrites it"
        )
    elif not_rewritten is not None:
        problems.append(
            f"the reporters' tables were not reordered ({not_rewritten}): rows written since the last CLUSTER keep "
            "the order they came in until a later `meldpunt purge` reorders them"
        )
    return problems


@main.group()
def user() -> None:
    """Team accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["admin", "handler", "auditor"]))
def user_add(name: str, role: str) -> None:
    """Create an account and print its one-time enrolment link (valid 7 days). An admin or an
    auditor only while no enrolled, enabled account of that role exists: the first of each, the
    way in; after that, an admin proposes one in the workspace and a second person approves
    (docs/operations.md)."""
    settings = _load()
    from .domain.accounts import APPROVERS, COMMAND_LINE, create, role_enrolled
    from .domain.models import User

    with database.connection_context():
        if User.get_or_none(User.name == name):
            raise click.ClickException(f"an account named {name!r} exists already")
        if role in APPROVERS and role_enrolled(role):
            raise click.ClickException(
                f"an enrolled {role} exists already: a new {role} is proposed in the workspace (Accounts, "
                "/team/users) and approved there by a second person, an auditor or another admin"
            )
        account, token = create(name, role, issued_by=COMMAND_LINE)
        _record("user-add", f"{account.name} ({role})")
    _print_enrolment_link(settings, token)


@main.command()
def notify() -> None:
    """Mail the team "there is new work" at the fixed MELDPUNT_NOTIFY_TIMES (run it often, from cron);
    at the same times, verify the history and mail the privacy officers an alarm if it is broken."""
    from .domain.db import truncate_wal
    from .domain.notify import (
        MAIL_LANGUAGES,
        alarm_message,
        compose,
        due_slot,
        head_message,
        next_slot,
        pending,
        remember,
        remember_head,
        send,
        translator,
        verification_failed,
        verify_history,
    )

    settings = _load()
    if not settings.get("MELDPUNT_SMTP_HOST") or not settings.get("MELDPUNT_MAIL_TO"):
        raise click.ClickException("set MELDPUNT_SMTP_HOST and MELDPUNT_MAIL_TO to send notifications")
    try:
        settings.audit_verify  # noqa: B018  (a value that is neither on nor off is refused before any mail)
    except config.ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    language = str(settings.get("MELDPUNT_MAIL_LANGUAGE") or "en")
    if language not in MAIL_LANGUAGES:
        raise click.ClickException(f"MELDPUNT_MAIL_LANGUAGE must be nl or en, not {language!r}")
    translate = translator(language)
    with database.connection_context():
        _reseal_news_addresses(settings)
        slot = due_slot(settings)
        if slot is None:
            click.echo(f"Not yet: the next notification time is {next_slot(settings):%Y-%m-%d %H:%M}.")
            return
        # The history first, before any mail: whatever goes wrong there (a damaged row), the
        # officers still get the alarm and the slot is still remembered, so no run mails again.
        try:
            checked = verify_history(settings)
        except Exception as exc:  # noqa: BLE001  (said on the line below and in the alarm)
            checked = verification_failed(exc)
        found = pending(settings)
        recipients = [address.strip() for address in settings["MELDPUNT_MAIL_TO"].split(",") if address.strip()]
        sender = settings.get("MELDPUNT_MAIL_FROM") or recipients[0]
        message = compose(settings, found, sender, recipients, translate)
        if message is not None:
            send(settings, message)
        officers = [address.strip() for address in str(settings.get("MELDPUNT_AUDIT_MAIL_TO") or "").split(",")]
        officers = [address for address in officers if address]
        alarm = alarm_message(settings, checked, sender, officers, translate)
        if alarm is not None:
            send(settings, alarm)
        heads = head_message(settings, sender, officers, translate)
        if heads is not None:
            send(settings, heads)
        # Clocks no longer due are forgotten, so they count again if they return.
        remember(found, slot)
        if heads is not None:
            remember_head()
        news = _news_for_reporters(settings)
        # The digest it replaced must not live on in SQLite's log (docs/threat-model.md).
        truncated = truncate_wal()
    click.echo(f"Sent: {message['Subject']}" if message is not None else "Nothing to tell.")
    if checked.skipped:
        click.echo("The history was not verified: MELDPUNT_AUDIT_VERIFY is off, as a second person approved.")
    elif checked.failed:
        click.echo(f"The history does not verify: {checked.failed}.")
    elif checked.broken_at is not None:
        click.echo(f"The history does not verify: entry {checked.broken_at} is the first that does not fit.")
    if alarm is not None:
        click.echo(f"Sent: {alarm['Subject']}")
    if heads is not None:
        click.echo(f"Sent: {heads['Subject']}")
    click.echo(news)
    if not truncated:
        click.echo(
            "Note: the database's write-ahead log was busy and is not truncated: what was announced before "
            "stays in it until the next run or `meldpunt purge` truncates it."
        )


def _news_for_reporters(settings: Settings) -> str:
    """At a fixed time: "there is news" to each reporter who left an address and has news
    (app/domain/news.py). Numbers only in what it says: never an address, not even in an error."""
    from .domain import news

    if news.offered(settings) and not settings.get("MELDPUNT_BASE_URL"):
        # The mail's one link: without it there is nothing to send, and the news waits.
        return "News for reporters: not sent: set MELDPUNT_BASE_URL, the address the mail names."
    sender = settings.get("MELDPUNT_MAIL_FROM")
    if news.offered(settings) and not sender:
        # Never a team member's own address (MELDPUNT_MAIL_TO) as the sender reporters see.
        return "News for reporters: not sent: set MELDPUNT_MAIL_FROM, the sender reporters see."
    # No transaction around it: each mailbox's flag is cleared in a commit of its own right after
    # its mail, so the database is never locked while the mail server is talked to.
    done = news.deliver(settings, str(sender or ""))
    said = f"News for reporters: {done.sent} mail(s) sent."
    if not news.offered(settings):
        said = "News for reporters: off (no MELDPUNT_NOTICE_KEY)."
    if done.stopped:  # the class name only: the message may quote an address
        said += (
            f" The mail server went away ({done.stopped}), also after connecting again: {done.left} left "
            "for the next fixed time."
        )
    if done.failed:
        said += f" {done.failed} refused by the mail server (tried again at the next fixed time)."
    if done.deleted:
        said += f" {done.deleted} address(es) deleted: refused for good at {news.REFUSALS_BEFORE_DELETION} fixed times."
    if done.unsendable:
        said += f" {done.unsendable} that no mail could be made for (tried again at the next fixed time)."
    if done.unreadable:
        said += f" {done.unreadable} address(es) no configured notice key opens (docs/operations.md, notice key)."
    if done.unrecorded:
        said += f" {done.unrecorded} sent but not recorded (the database was busy): mailed again next time."
    return said


def _reseal_news_addresses(settings: Settings) -> None:
    """While the notice key is rotated (MELDPUNT_NOTICE_KEY_PREVIOUS set): every run, fixed time or
    not, seals the addresses still sealed to an older key again to the current one."""
    from .domain import news

    with database.atomic():
        done = news.reseal(settings)
    if done.resealed:
        click.echo(f"News addresses: {done.resealed} sealed again to the current notice key.")
    if done.unreadable:
        click.echo(f"News addresses: {done.unreadable} that no configured notice key opens.")


@user.command("reset")
@click.argument("name")
def user_reset(name: str) -> None:
    """New password and second factor for NAME: print a fresh enrolment link (valid 7 days). An
    admin or auditor only when the workspace cannot reset them with four eyes (no other admin to
    propose it, or no second person to approve)."""
    settings = _load()
    from .domain.accounts import APPROVERS, COMMAND_LINE, reset_enrolment, workspace_can_reset
    from .domain.models import User

    with database.connection_context():
        account = User.get_or_none(User.name == name)
        if account is None:
            raise click.ClickException(f"no account named {name!r}")
        if account.role in APPROVERS and workspace_can_reset(account):
            raise click.ClickException(
                f"{name!r} may approve proposals: an admin proposes the reset in the workspace (Accounts, "
                "/team/users) and a second person approves it, an auditor or another admin"
            )
        token = reset_enrolment(account, issued_by=COMMAND_LINE)
        _record("user-reset", account.name)
    _print_enrolment_link(settings, token)


def _record(action: str, detail: str) -> None:
    """A change made on the command line enters the history like the team's own (app/domain/chain.py)."""
    from .domain.chain import COMMAND_LINE, append

    append(None, None, action, detail, actor=COMMAND_LINE)


@main.group()
def audit() -> None:
    """The history's hash chain: verify it, print its head."""


@audit.command("verify")
@click.option(
    "--against",
    "heads",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="a file of heads kept outside (head files, or saved mails with 'entry N, fingerprint …'); repeatable",
)
@click.option(
    "--no-record",
    is_flag=True,
    help="do not record the verification in the history (for a copy kept as evidence, which must not change)",
)
def audit_verify(heads: tuple[str, ...], no_record: bool) -> None:
    """Recompute the whole chain; name the first entry that does not fit. Exit 1 if one does not.
    A success is recorded in the history (the self-check shows the last one), unless --no-record
    or the database is read-only (a forensic copy): then it says so and changes nothing."""
    from peewee import OperationalError

    from .domain.chain import MAX_HEADS_BYTES, head_key, read_heads, record_verification, verify

    settings = _load()
    public = head_key(settings).public
    saved = []
    notes = []
    for path in heads:
        if Path(path).stat().st_size > MAX_HEADS_BYTES:
            raise click.ClickException(f"{path} is larger than a file of heads can be ({MAX_HEADS_BYTES} bytes)")
        try:
            found = read_heads(Path(path).read_text(encoding="utf-8"), public)
        except (ValueError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{path} is not a file of heads: {exc}") from None
        if not found:
            raise click.ClickException(f"{path} holds no head (an entry number and a fingerprint)")
        notes += [f"{path}, entry {head.seq}: {head.note}" for head in found if head.note]
        saved += found
    recorded = ""
    from .domain.db import bind_read_only, writable

    if (no_record or not writable(settings["DATABASE_URL"])) and bind_read_only(settings["DATABASE_URL"]):
        recorded = "" if no_record else "not recorded in the history (the database is read-only here)"
        no_record = True
    with database.connection_context():
        verdict = verify(saved)
        if verdict and not no_record:
            try:
                record_verification(verdict, len(saved))
            except OperationalError as exc:
                if "readonly" not in str(exc).replace("-", "").replace(" ", ""):
                    raise  # locked, full disk…: not the read-only copy this is meant for
                recorded = f"not recorded in the history ({exc})"
    if not verdict:
        raise click.ClickException(f"the history is broken: {verdict.problem}")
    click.echo(f"The history verifies: {verdict.length} entries, head {verdict.head.fingerprint}.")
    if saved:
        click.echo(f"Each of the {len(saved)} saved heads is still part of it.")
    for note in notes:
        click.echo(f"Note: {note}.")
    if recorded:
        click.echo(f"Note: {recorded}.", err=True)


@audit.command("head")
def audit_head() -> None:
    """Print the head: the last entry's number, fingerprint and full digest."""
    from .domain.chain import head

    _load()
    with database.connection_context():
        current = head()
    click.echo(f"entry {current.seq}, fingerprint {current.fingerprint}")
    click.echo(f"digest {current.digest}")


def _print_enrolment_link(settings: dict, token: str) -> None:
    base = (settings.get("MELDPUNT_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    click.echo(f"{base}/team/enrol/{token}")
