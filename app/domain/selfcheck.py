"""The self-check: the live configuration and data held against what the portal promises.

Each check returns a `Check`: pass, fail, unknown or not applicable, and why, in an English
message id (marked with `N_`, translated where it is shown) with its values. A check that scans
the data names only `table.column` and a count, never a value it found: a match may be exactly
what must not be shown.
"""

import ast
import datetime
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from peewee import SqliteDatabase, Table

from . import chain, inventory, proposals
from .clock import now
from .db import CHUNK_SCHEMA, database
from .inventory import N_
from .models import Event
from .settings import ROOT, ConfigError, Settings

PASS, FAIL, UNKNOWN, NOT_APPLICABLE = "pass", "fail", "unknown", "not applicable"
PURGE_EVERY = datetime.timedelta(days=2)  # `meldpunt purge` runs daily (docs/operations.md)
VERIFY_EVERY = datetime.timedelta(days=31)  # docs/privacy.md asks for a verification a month


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    status: str
    why: str
    values: dict = field(default_factory=dict)


# --- the logs ------------------------------------------------------------------------------


def gunicorn_access_log(path: Path = ROOT / "gunicorn.conf.py", environment: dict | None = None) -> Check:
    """gunicorn.conf.py sets no access log, and our logger class, which writes none even if asked."""
    title = N_("No access log in gunicorn")
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return Check("gunicorn-access-log", title, FAIL, N_("%(file)s cannot be read."), {"file": path.name})
    assigned = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = node.value
    accesslog = assigned.get("accesslog")
    logger = assigned.get("logger_class")
    arguments = str((environment or {}).get("GUNICORN_CMD_ARGS", ""))
    if accesslog is not None and not (isinstance(accesslog, ast.Constant) and accesslog.value in (None, "")):
        return Check("gunicorn-access-log", title, FAIL, N_("%(file)s sets an access log."), {"file": path.name})
    if "access-log" in arguments or "accesslog" in arguments:
        return Check("gunicorn-access-log", title, FAIL, N_("GUNICORN_CMD_ARGS asks for an access log."))
    if not (isinstance(logger, ast.Constant) and logger.value == "app.web.server_log.ServerLog"):
        return Check(
            "gunicorn-access-log",
            title,
            FAIL,
            N_("%(file)s does not use the portal's logger class, which writes no access log even if one is asked for."),
            {"file": path.name},
        )
    return Check(
        "gunicorn-access-log",
        title,
        PASS,
        N_("%(file)s sets no access log, and its logger class writes none even if one is asked for."),
        {"file": path.name},
    )


_COMMENT = re.compile(r"#[^\n]*")
_SERVER = re.compile(r"\bserver\s*\{")
_DIRECTIVE = re.compile(r"(?:^|[;{}])\s*(access_log|include)\s+([^;]*);")


def _blocks(text: str) -> Iterator[str]:
    """The text of every `server { … }` block (comments removed)."""
    for found in _SERVER.finditer(text):
        depth, start = 0, found.end() - 1
        for position in range(start, len(text)):
            if text[position] == "{":
                depth += 1
            elif text[position] == "}":
                depth -= 1
                if depth == 0:
                    yield text[start + 1 : position]
                    break


def _top_level(text: str) -> str:
    """`text` without anything inside braces: the directives that apply to the whole file."""
    kept, depth = [], 0
    for character in text:
        if character == "{":
            depth += 1
        elif character == "}":
            depth -= 1
        elif depth == 0:
            kept.append(character)
    return "".join(kept)


def _logs_off(text: str) -> bool:
    return any(name == "access_log" and value.split() == ["off"] for name, value in _DIRECTIVE.findall(text))


def nginx_access_log(folder: Path = ROOT / "deploy" / "nginx") -> Check:
    """Every `server` of the shipped nginx configuration turns the access log off (itself, or in a
    file it includes), and no `access_log` anywhere turns one on."""
    title = N_("No access log in the shipped nginx configuration")
    files = {path.name: _COMMENT.sub("", path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.conf"))}
    if not files:
        return Check(
            "nginx-access-log", title, FAIL, N_("No nginx configuration found in %(folder)s."), {"folder": folder.name}
        )
    for name, text in files.items():
        for directive, value in _DIRECTIVE.findall(text):
            if directive == "access_log" and value.split() != ["off"]:
                return Check(
                    "nginx-access-log",
                    title,
                    FAIL,
                    N_("%(file)s writes an access log (access_log %(value)s)."),
                    {"file": name, "value": value.strip()},
                )
    servers, missing = 0, []
    for name, text in files.items():
        for block in _blocks(text):
            servers += 1
            included = [
                Path(value.strip()).name
                for directive, value in _DIRECTIVE.findall(_top_level(block))
                if directive == "include"
            ]
            if not _logs_off(_top_level(block)) and not any(
                _logs_off(_top_level(files.get(other, ""))) for other in included
            ):
                missing.append(name)
    if not servers:
        return Check("nginx-access-log", title, FAIL, N_("The nginx configuration has no server block."))
    if missing:
        return Check(
            "nginx-access-log",
            title,
            FAIL,
            N_("A server block in %(file)s does not turn the access log off."),
            {"file": ", ".join(sorted(set(missing)))},
        )
    return Check(
        "nginx-access-log",
        title,
        PASS,
        N_("All %(count)s server blocks in deploy/nginx/ turn the access log off."),
        {"count": servers},
    )


# --- the configuration ---------------------------------------------------------------------


def secure_cookies(settings: Settings) -> Check:
    title = N_("Session cookies are Secure")
    if settings.get("MELDPUNT_SECURE_COOKIES"):
        return Check(
            "secure-cookies", title, PASS, N_("MELDPUNT_SECURE_COOKIES is on: cookies travel over HTTPS only.")
        )
    return Check(
        "secure-cookies", title, FAIL, N_("MELDPUNT_SECURE_COOKIES is off: development only, never in production.")
    )


def base_url(settings: Settings) -> Check:
    title = N_("Base URL set")
    value = settings.get("MELDPUNT_BASE_URL")
    if value:
        return Check("base-url", title, PASS, N_("MELDPUNT_BASE_URL is %(url)s."), {"url": str(value)})
    return Check(
        "base-url",
        title,
        FAIL,
        N_("MELDPUNT_BASE_URL is not set: security.txt is not served and links are taken from each request."),
    )


def retention_configured(settings: Settings) -> Check:
    """The periods in effect, as `meldpunt purge` applies them: each a number of days, and none
    configured below its default without a second person's approval (then the default applies,
    which is not what the instance file says)."""
    title = N_("Retention configured")
    try:
        periods = proposals.retention_periods(settings)
    except ConfigError as exc:
        return Check("retention", title, FAIL, N_("A retention setting is wrong: %(problem)s"), {"problem": str(exc)})
    effect = ", ".join(f"{key} = {period.effective}" for key, period in periods.items())
    waiting = [period for period in periods.values() if period.waiting]
    if waiting:
        names = ", ".join(f"{period.setting} ({period.configured} < {period.default})" for period in waiting)
        return Check(
            "retention",
            title,
            FAIL,
            N_(
                "Configured below the default without a second person's approval, so the default applies "
                "instead: %(names)s. In effect: %(effect)s."
            ),
            {"names": names, "effect": effect},
        )
    return Check("retention", title, PASS, N_("The periods in effect, in days: %(effect)s."), {"effect": effect})


# --- the database --------------------------------------------------------------------------


def secure_delete() -> Check:
    """SQLite overwrites deleted content with zeros only with secure_delete on; ask the live
    connection, not the configuration."""
    title = N_("Deleted data is overwritten (secure_delete)")
    if not isinstance(database.obj, SqliteDatabase):
        return Check(
            "secure-delete",
            title,
            NOT_APPLICABLE,
            N_("Not SQLite: see docs/privacy.md for what VACUUM does on PostgreSQL."),
        )
    # The database and the chunk file beside it (app/domain/db.py): the weaker of the two counts.
    values = []
    for schema in ("main", CHUNK_SCHEMA):
        row = database.execute_sql(f"PRAGMA {schema}.secure_delete").fetchone()
        values.append(int(row[0]) if row else 0)
    value = 0 if 0 in values else 2 if 2 in values else 1
    if value == 1:
        return Check("secure-delete", title, PASS, N_("PRAGMA secure_delete is on for the live connection."))
    if value == 2:
        return Check(
            "secure-delete",
            title,
            FAIL,
            N_("PRAGMA secure_delete is FAST: deleted content can stay in free pages."),
        )
    return Check("secure-delete", title, FAIL, N_("PRAGMA secure_delete is off: deleted content stays in free pages."))


def _values(table: str, column: str) -> Iterator[object]:
    source = Table(table).bind(database)
    target = source.c[column]
    yield from (value for (value,) in source.select(target).where(target.is_null(False)).tuples().iterator())


def _text(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


# A time of day after a date, or alone with seconds: "2026-03-01 14:05", "14:05:09".
_TIME_OF_DAY = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}|\b\d{1,2}:\d{2}:\d{2}\b")


def day_granularity() -> Check:
    """No column of a reporter table holds a time finer than a day: no column whose type holds a
    time, unless it is labelled as the team's own exact time, and no such value in a text or date
    column; a reporter's session has no end time."""
    title = N_("Reporter tables hold no time finer than a day")
    typed, valued = [], {}
    for table in inventory.REPORTER_TABLES:
        for column, data_type in inventory.live_columns(table):
            kind = inventory.kind_of(data_type)
            label = inventory.label(table, column)
            if kind == "time":
                if label is None or label.granularity != inventory.TEAM_TIME:
                    typed.append(f"{table}.{column}")
            elif kind == "date":
                count = sum(1 for value in _values(table, column) if len(_text(value)) > len("2026-01-01"))
                if count:
                    valued[f"{table}.{column}"] = count
            elif kind == "text":
                count = sum(1 for value in _values(table, column) if _TIME_OF_DAY.search(_text(value)))
                if count:
                    valued[f"{table}.{column}"] = count
    if "signedin" in inventory.table_names():
        sessions = Table("signedin").bind(database)
        count = sessions.select().where((sessions.c.kind == "reporter") & sessions.c.ends.is_null(False)).count()
        if count:
            valued["signedin.ends"] = count
    if typed:
        return Check(
            "day-granularity",
            title,
            FAIL,
            N_("Columns that hold a time of day: %(columns)s."),
            {"columns": ", ".join(typed)},
        )
    if valued:
        return Check(
            "day-granularity",
            title,
            FAIL,
            N_("Values with a time of day: %(columns)s."),
            {"columns": _counted(valued)},
        )
    return Check(
        "day-granularity",
        title,
        PASS,
        N_("%(tables)s: days only; the exact times there are the team's own (CRA steps, team sessions)."),
        {"tables": ", ".join(inventory.REPORTER_TABLES)},
    )


def _counted(found: dict[str, int]) -> str:
    return ", ".join(f"{name} ({count})" for name, count in sorted(found.items()))


_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f:.]{3,}(?<!\.)(?![\w:]|\.[\w:])")  # candidates; ipaddress decides
_USER_AGENT = re.compile(
    r"Mozilla/\d|AppleWebKit/|Gecko/\d|Chrome/\d|Safari/\d|Firefox/\d|Edg/\d|OPR/\d|Trident/|MSIE \d|"
    r"curl/\d|Wget/\d|python-requests/|Go-http-client/|okhttp/|"
    r"\((?:Windows NT|X11;|Macintosh;|Linux;|iPhone;|iPad;|Android)",
    re.IGNORECASE,
)


def looks_like_address(text: str) -> bool:
    for found in _IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(found.group(0))
            return True
        except ValueError:
            pass
    for found in _IPV6.finditer(text):
        candidate = found.group(0)
        if len(candidate) > 45 or ("::" not in candidate and candidate.count(":") != 7) or candidate == "::":
            continue  # "12:30:45", "cra:aware": not an address
        try:
            ipaddress.IPv6Address(candidate)
            return True
        except ValueError:
            pass
    return False


def looks_like_user_agent(text: str) -> bool:
    return bool(_USER_AGENT.search(text))


def no_addresses() -> Check:
    """Scan every text and binary column (ciphertext aside) for IP addresses and browser strings."""
    title = N_("No IP addresses or browser identifiers in the database")
    addresses, agents, scanned = {}, {}, 0
    for table in inventory.table_names():
        for column, data_type in inventory.live_columns(table):
            label = inventory.label(table, column)
            if inventory.kind_of(data_type) not in ("text", "binary"):
                continue
            if label is not None and label.granularity == inventory.CIPHERTEXT:
                continue  # random bytes to anyone without the key
            scanned += 1
            for value in _values(table, column):
                text = _text(value)
                if looks_like_address(text):
                    addresses[f"{table}.{column}"] = addresses.get(f"{table}.{column}", 0) + 1
                if looks_like_user_agent(text):
                    agents[f"{table}.{column}"] = agents.get(f"{table}.{column}", 0) + 1
    if addresses or agents:
        return Check(
            "no-addresses",
            title,
            FAIL,
            N_("Values that look like an IP address: %(addresses)s; like a browser identifier: %(agents)s."),
            {"addresses": _counted(addresses) or "-", "agents": _counted(agents) or "-"},
        )
    return Check(
        "no-addresses",
        title,
        PASS,
        N_(
            "%(count)s text and binary columns scanned (ciphertext aside): "
            "no IPv4 or IPv6 address, no browser identifier."
        ),
        {"count": scanned},
    )


# --- the regular jobs ----------------------------------------------------------------------


def _age(event: Event, moment: datetime.datetime) -> int:
    return max(0, (moment - event.at).days)


def last_purge(moment: datetime.datetime | None = None) -> Check:
    title = N_("Last successful purge")
    moment = moment or now()
    event = chain.last(chain.PURGED)
    if event is None:
        return Check("last-purge", title, FAIL, N_("meldpunt purge has never run (no purge entry in the history)."))
    values = {"day": event.at.date().isoformat(), "days": _age(event, moment), "seq": event.seq}
    if moment - event.at > PURGE_EVERY:
        return Check(
            "last-purge",
            title,
            FAIL,
            N_("Last run on %(day)s (%(days)s days ago, entry %(seq)s): meldpunt purge should run daily."),
            values,
        )
    return Check("last-purge", title, PASS, N_("Last run on %(day)s (entry %(seq)s)."), values)


def last_verification(moment: datetime.datetime | None = None) -> Check:
    """Only a verification against heads kept outside the server counts: without one, whoever
    controls the server could have recomputed the whole chain (docs/privacy.md)."""
    title = N_("Last verification of the history")
    moment = moment or now()
    event = chain.last_verified(against_saved_heads=True)
    if event is None:
        return Check(
            "last-verification",
            title,
            FAIL,
            N_("The history was never verified against saved heads: meldpunt audit verify --against FILE."),
        )
    values = {"day": event.at.date().isoformat(), "days": _age(event, moment), "seq": event.seq}
    if moment - event.at > VERIFY_EVERY:
        return Check(
            "last-verification",
            title,
            FAIL,
            N_(
                "Last verified against saved heads on %(day)s (%(days)s days ago, entry %(seq)s): "
                "verify at least once a month."
            ),
            values,
        )
    return Check(
        "last-verification", title, PASS, N_("Last verified against saved heads on %(day)s (entry %(seq)s)."), values
    )


def run(settings: Settings, environment: dict | None = None) -> list[Check]:
    """Every check, in the order the page shows them."""
    return [
        gunicorn_access_log(environment=environment),
        nginx_access_log(),
        secure_cookies(settings),
        secure_delete(),
        day_granularity(),
        no_addresses(),
        base_url(settings),
        retention_configured(settings),
        last_purge(),
        last_verification(),
    ]
