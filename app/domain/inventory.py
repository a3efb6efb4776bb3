"""The data inventory: a label on every column of every table, and live counts and sizes.

Each label says what a column is for (category), whether it is personal data, how fine its values
are (a day, an exact team time, a random id, ciphertext…), which retention rule removes it and on
which legal basis it is kept. The privacy officers' inventory page and the record of processing
(app/domain/processing.py) are generated from these labels, and tests/test_audit_pages.py fails
when a column of the real database has none, so the inventory never falls behind the schema.

The texts are English message ids marked with `N_`; the web layer translates them when it shows
them (the domain imports no Flask, so no translation happens here).
"""

from dataclasses import dataclass

from peewee import SqliteDatabase, Table, fn

from .db import REPORTER_TABLES as REPORTER_TABLES  # re-exported: selfcheck and the pages read it here
from .db import database, schema_of
from .models import MODELS


def N_(text: str) -> str:
    """Marks a message for translation (pybabel extracts it); translated where it is shown."""
    return text


@dataclass(frozen=True)
class Label:
    category: str
    personal: bool
    granularity: str
    retention: str
    basis: str


# Categories.
WORKFLOW = N_("report workflow")
CONTENT = N_("report content (encrypted)")
CONTACT = N_("reporter contact")
CREDIT = N_("hall of fame")
ACCOUNT = N_("team account")
HISTORY = N_("history")
SESSION = N_("session")
ABUSE = N_("abuse protection")
CONFIGURATION = N_("configuration")
FOUR_EYES = N_("four eyes")
CATEGORIES = (WORKFLOW, CONTENT, CONTACT, CREDIT, ACCOUNT, HISTORY, SESSION, ABUSE, CONFIGURATION, FOUR_EYES)

# Granularity: how much a value can tell.
RANDOM_ID = N_("random id")
COUNTER = N_("counter")
DAY = N_("day")
TEAM_TIME = N_("exact time (team)")
CIPHERTEXT = N_("ciphertext")
HASH = N_("hash")
SALT = N_("random salt, deleted when the entry is redacted")
FIXED_LIST = N_("one of a fixed list")
FLAG = N_("yes/no")
NUMBER = N_("number")
LINK = N_("link to another row")
REFERENCE = N_("random reference")
POSITION = N_("random position")
TEAM_TEXT = N_("text written by the team")
NAME = N_("name")
PUBLIC_KEY = N_("public key")
VALUE = N_("setting value")
SUBJECT = N_("account name, report reference or setting name")

# Retention: the rule that removes a value. The rules themselves are configured in the instance
# file and previewed on the retention page; these name them.
R_CLOSED = N_("see retention: closed reports")
R_CONTENT = N_("see retention: closed reports; attachments of disclosed reports")
R_MAILBOX = N_("see retention: unused mailboxes; the reporter can close their own")
R_NEWS = N_("with its mailbox (closed, or see retention: unused mailboxes); the reporter can remove it at any time")
R_CREDIT = N_("see retention: withdrawn credits, at once")
R_ACCOUNT = N_("see retention: disabled accounts")
R_EVENTS = N_("see retention: sign-in and view events; other entries stay in the chain")
R_HOLD = N_("see retention: legal hold, until it is lifted")
R_UPLOAD = N_("until the upload is claimed; unfinished uploads after a day (meldpunt purge)")
R_SESSION = N_("until the session ends (meldpunt purge)")
R_CHALLENGE = N_("until the challenge expires (meldpunt purge)")
R_ENROL = N_("until enrolment, at most 7 days")
R_THROTTLE = N_("until forgiven (one an hour) or the next successful sign-in")
R_INSTALLATION = N_("for the life of the installation")
R_PROPOSAL = N_("kept as the record of four eyes, like the history's entries; a deleted account's link is cleared")

# Legal bases (GDPR art. 6(1)); for a column without personal data, why it is kept at all.
B_HANDLING = N_("GDPR art. 6(1)(f): legitimate interest in handling vulnerability reports")
B_CRA = N_("GDPR art. 6(1)(c): legal obligation to report actively exploited vulnerabilities (Cyber Resilience Act)")
B_SECURITY = N_("GDPR art. 6(1)(f): legitimate interest in securing the portal and its accounts")
B_ACCOUNTABILITY = N_("GDPR art. 6(1)(f): legitimate interest in accountability for what the team does")
B_CONSENT = N_("GDPR art. 6(1)(a): the reporter's consent to be credited")
B_NEWS = N_("GDPR art. 6(1)(a): the reporter's consent to be mailed when there is news")
B_NONE = N_("not applicable: no personal data")


def _labels(category: str, retention: str, basis: str, **columns: tuple[bool, str]) -> dict[str, Label]:
    return {
        name: Label(category, personal, granularity, retention, basis)
        for name, (personal, granularity) in columns.items()
    }


NO, YES = False, True

# Per table (as the database names it) and column (foreign keys end in _id). Columns another
# change may add are labelled already (closed_on, disclosed_on, hold_reason, last_used,
# disabled_on, redacted): a label for a column that does not exist is harmless.
LABELS: dict[str, dict[str, Label]] = {
    "setting": _labels(CONFIGURATION, R_INSTALLATION, B_NONE, key=(NO, FIXED_LIST), value=(NO, VALUE)),
    "report": {
        **_labels(
            WORKFLOW,
            R_CLOSED,
            B_HANDLING,
            id=(NO, RANDOM_ID),
            reference=(NO, REFERENCE),
            state=(NO, FIXED_LIST),
            received=(NO, DAY),
            acknowledged=(NO, DAY),
            fix_expected=(NO, DAY),
            disclosure_planned=(NO, DAY),
            updated=(NO, DAY),
            duplicate_of_id=(NO, LINK),
            exploited=(NO, FLAG),
            resolved_on=(NO, DAY),
            closed_on=(NO, DAY),
            disclosed_on=(NO, DAY),
        ),
        **_labels(
            WORKFLOW,
            R_CLOSED,
            B_CRA,
            cra_aware_at=(NO, TEAM_TIME),
            cra_early_warning_sent=(NO, TEAM_TIME),
            cra_notification_sent=(NO, TEAM_TIME),
            cra_final_report_sent=(NO, TEAM_TIME),
        ),
        **_labels(WORKFLOW, R_HOLD, B_HANDLING, hold_reason=(NO, TEAM_TEXT)),
    },
    "mailbox": _labels(
        CONTACT,
        R_MAILBOX,
        B_HANDLING,
        id=(YES, RANDOM_ID),
        report_id=(YES, LINK),
        lookup_hash=(YES, HASH),
        public_key=(YES, PUBLIC_KEY),
        last_used=(YES, DAY),
        news_pending=(NO, FLAG),
    ),
    "newsaddress": _labels(
        CONTACT,
        R_NEWS,
        B_NEWS,
        mailbox_id=(YES, LINK),
        sealed=(YES, CIPHERTEXT),
        stop=(NO, HASH),
        refusals=(NO, COUNTER),
    ),
    "item": {
        **_labels(
            CONTENT,
            R_CONTENT,
            B_HANDLING,
            id=(NO, RANDOM_ID),
            report_id=(NO, LINK),
            kind=(NO, FIXED_LIST),
            parent_id=(NO, LINK),
            day=(NO, DAY),
            position=(NO, POSITION),
            size=(NO, NUMBER),
            complete=(NO, FLAG),
            assessment=(NO, FLAG),
        ),
        **_labels(
            CONTENT, R_UPLOAD, B_HANDLING, handle=(NO, RANDOM_ID), expected_size=(NO, NUMBER), parts=(NO, NUMBER)
        ),
    },
    "chunk": _labels(
        CONTENT, R_CONTENT, B_HANDLING, id=(NO, RANDOM_ID), item_id=(NO, LINK), seq=(NO, NUMBER), data=(YES, CIPHERTEXT)
    ),
    "user": {
        **_labels(
            ACCOUNT,
            R_ACCOUNT,
            B_SECURITY,
            id=(YES, COUNTER),
            name=(YES, NAME),
            role=(YES, FIXED_LIST),
            password_hash=(YES, HASH),
            totp_secret=(YES, CIPHERTEXT),
            totp_last_step=(YES, NUMBER),
            enrolled=(YES, FLAG),
            disabled=(YES, FLAG),
            disabled_on=(YES, DAY),
            issued_by=(YES, NAME),
            issued_with=(YES, NAME),
        ),
        **_labels(
            ACCOUNT,
            R_ENROL,
            B_SECURITY,
            enrol_token=(YES, HASH),
            enrol_code=(YES, HASH),
            enrol_expires=(YES, TEAM_TIME),
        ),
        **_labels(
            ACCOUNT,
            R_THROTTLE,
            B_SECURITY,
            failures=(YES, NUMBER),
            last_failure=(YES, TEAM_TIME),
            locked_until=(YES, TEAM_TIME),
        ),
    },
    "event": {
        **_labels(
            HISTORY,
            R_EVENTS,
            B_ACCOUNTABILITY,
            id=(NO, COUNTER),
            seq=(NO, COUNTER),
            report_id=(NO, LINK),
            reference=(NO, REFERENCE),
            action=(NO, FIXED_LIST),
            content=(NO, HASH),
            digest=(NO, HASH),
            redacted=(NO, FLAG),
            salt=(NO, SALT),
        ),
        **_labels(
            HISTORY,
            R_EVENTS,
            B_ACCOUNTABILITY,
            user_id=(YES, LINK),
            actor=(YES, NAME),
            detail=(YES, TEAM_TEXT),
            at=(YES, TEAM_TIME),
            inner_digest=(YES, HASH),
        ),
    },
    "credit": {
        **_labels(CREDIT, R_CREDIT, B_HANDLING, id=(NO, COUNTER), report_id=(NO, LINK), published=(NO, DAY)),
        **_labels(CREDIT, R_CREDIT, B_CONSENT, name=(YES, NAME)),
    },
    "signedin": {
        **_labels(
            SESSION,
            R_SESSION,
            B_SECURITY,
            token_hash=(YES, HASH),
            user_id=(YES, LINK),
            ends=(YES, TEAM_TIME),
            mailbox_check=(YES, HASH),
        ),
        **_labels(SESSION, R_SESSION, B_NONE, kind=(NO, FIXED_LIST), day=(NO, DAY)),
    },
    "spentchallenge": _labels(ABUSE, R_CHALLENGE, B_NONE, challenge_hash=(NO, HASH), day=(NO, DAY)),
    "proposal": {
        **_labels(
            FOUR_EYES,
            R_PROPOSAL,
            B_ACCOUNTABILITY,
            id=(NO, COUNTER),
            action=(NO, FIXED_LIST),
            state=(NO, FIXED_LIST),
            value=(NO, TEAM_TEXT),
            enrol_code=(NO, HASH),
        ),
        **_labels(
            FOUR_EYES,
            R_PROPOSAL,
            B_ACCOUNTABILITY,
            subject=(YES, SUBJECT),
            proposer_id=(YES, LINK),
            proposed_by=(YES, NAME),
            proposed_at=(YES, TEAM_TIME),
            decider_id=(YES, LINK),
            decided_by=(YES, NAME),
            decided_at=(YES, TEAM_TIME),
        ),
    },
}

# What each table holds, in a sentence.
PURPOSES = {
    "setting": N_("Installation-wide values: the passphrase salt, the schema version, the history's head."),
    "report": N_("One row per report: its random reference, state and the days the team set."),
    "mailbox": N_("A reporter's way back: a token's hash and a public key derived from their passphrase."),
    "item": N_("One row per envelope (report, follow-up, attachment, reply): kind, day and padded size."),
    "chunk": N_("The envelopes themselves, as ciphertext only the team's offline key opens."),
    "user": N_("Accounts of the security team and the privacy officers."),
    "event": N_("The history: who of the team did what, when, to which report, as a hash chain."),
    "credit": N_("Hall-of-fame names the team published with a reporter's consent."),
    "signedin": N_("Live sessions: a token's hash; the day for reporters, the account and end for the team."),
    "spentchallenge": N_("Proof-of-work challenges that reports used up, until they expire."),
    "newsaddress": N_(
        "Reporters' e-mail addresses for news, one per mailbox at most, each sealed to the notice key "
        "whose private half is in the instance configuration, not in the database."
    ),
    "proposal": N_(
        "Dangerous actions one admin proposed and a second person approved, rejected, or the proposer withdrew."
    ),
}

# REPORTER_TABLES (app/domain/db.py): tables whose rows a reporter causes. No time finer than a
# day may be in them, except the team's own exact times on a report (the CRA moments) and on a
# team session.


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    label: Label | None


@dataclass(frozen=True)
class TableInventory:
    name: str
    purpose: str
    rows: int
    bytes: int  # the lengths of its text and binary values together
    columns: tuple[Column, ...]

    @property
    def personal(self) -> bool:
        return any(column.label and column.label.personal for column in self.columns)


def table_names() -> list[str]:
    return [model._meta.table_name for model in MODELS]


def label(table: str, column: str) -> Label | None:
    return LABELS.get(table, {}).get(column)


def live_columns(table: str) -> list[tuple[str, str]]:
    """The columns the database has (not the ones the models declare): name and type."""
    return [(column.name, column.data_type) for column in database.get_columns(table, schema=schema_of(table))]


def unlabelled() -> list[str]:
    """`table.column` for every column of the real database without a label."""
    return [
        f"{table}.{name}"
        for table in table_names()
        for name, _type in live_columns(table)
        if label(table, name) is None
    ]


def kind_of(data_type: str) -> str:
    """ "text", "binary", "date", "time" (anything with a time of day) or "number"."""
    lowered = data_type.lower()
    if "char" in lowered or "text" in lowered or "clob" in lowered:
        return "text"
    if "blob" in lowered or "bytea" in lowered or "binary" in lowered:
        return "binary"
    if "time" in lowered:  # datetime, timestamp…, time
        return "time"
    if lowered == "date":
        return "date"
    return "number"


def byte_length(column):
    """The number of bytes of a value (SQLite's length() counts characters in text)."""
    if isinstance(database.obj, SqliteDatabase):
        return fn.LENGTH(column.cast("BLOB"))
    return fn.OCTET_LENGTH(column)


def measure(table: str, columns: list[tuple[str, str]]) -> tuple[int, int]:
    """Rows, and the bytes of all text and binary values, of one table."""
    source = Table(table).bind(database)
    rows = source.select(fn.COUNT(1)).scalar() or 0
    sized = [source.c[name] for name, data_type in columns if kind_of(data_type) in ("text", "binary")]
    if not sized or not rows:
        return rows, 0
    total = source.select(*[fn.COALESCE(fn.SUM(byte_length(column)), 0) for column in sized]).tuples().get()
    return rows, sum(int(value or 0) for value in total)


def inventory() -> list[TableInventory]:
    """Every table of the database with its labels, row count and size, as it is now."""
    found = []
    for table in table_names():
        columns = live_columns(table)
        rows, size = measure(table, columns)
        found.append(
            TableInventory(
                name=table,
                purpose=PURPOSES.get(table, ""),
                rows=rows,
                bytes=size,
                columns=tuple(Column(name, data_type, label(table, name)) for name, data_type in columns),
            )
        )
    return found
