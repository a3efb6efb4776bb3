"""`meldpunt notify`: tell the team by e-mail that there is new work, never what or when.

Run from cron or a systemd timer as often as you like (every 15 minutes, say): it mails only at the
fixed times of MELDPUNT_NOTIFY_TIMES (default 08:00 and 16:00 in the team's zone), and then only if
something happened since the last mail: a new report or message, a clock that became due within a
day, or the same clock once it is overdue. The mail says "there is new work" and nothing more: no
count, no reference, no content. So neither its content nor its moment tells the mail provider,
or anyone reading the team's mail, when a report came in or how many did (docs/threat-model.md).

At the same fixed times, before it mails anything, it verifies the history (app/domain/chain.py)
and, if the chain is broken, mails the privacy officers (MELDPUNT_AUDIT_MAIL_TO) an alarm naming
the first entry that does not fit: a number, no content. A check that fails (a row it cannot read)
is an alarm too (`verification_failed`), and the fixed time is still remembered.
MELDPUNT_AUDIT_VERIFY = off stops that, but only once a second person approved it
(app/domain/proposals.py).

What was announced is remembered as one keyed digest of the set of stored reports and follow-ups
(HMAC-SHA-256 of their sorted ids, with a key derived from SECRET_KEY for this purpose alone,
crypto/spec.py `LABEL_NOTIFY_ITEMS`), not as ids, counts or times: counts beside each report's day
of arrival would tell how many of today's reports came after the last fixed time, and ids which
ones. A stolen database alone tells nothing from the digest; someone who also has SECRET_KEY can
test guesses of which of the items stored now were there at the last fixed time, and only the
last: each run overwrites the digest and then truncates SQLite's write-ahead log
(docs/threat-model.md).
"""

import datetime
import gettext
import hashlib
import hmac
import json
import smtplib
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import cache

from peewee import DateField, DateTimeField

from crypto import spec
from crypto.secretbox import derive_key

from . import chain, deadlines, proposals, workflow
from .inventory import N_
from .models import Event, Item, Report, Setting
from .processing import Translate, plain
from .settings import ROOT, Settings

ANNOUNCED = "notify_announced"  # the keyed digest of the items announced (`items_digest`)
LEGACY_COUNTS = "notify_announced_items"  # {"report": n, "message": n}, until the first run after an upgrade
ANNOUNCED_CLOCKS = "notify_announced_clocks"
LAST_SLOT = "notify_last_slot"  # the last fixed time handled, ISO in the team's zone
LAST_HEAD = "notify_last_head"  # the history's head last mailed to the privacy officers
KINDS = ("report", "message")


@dataclass
class Pending:
    new_items: bool = False  # reports or follow-ups stored since the last mail (or deleted: see `_news`)
    due_soon: int = 0  # clocks newly due within a day
    overdue: int = 0  # clocks newly overdue
    digest: str = ""  # of the reports and follow-ups stored now (`items_digest`)
    clocks: set[str] = field(default_factory=set)  # every clock now due or overdue, announced or not

    def __bool__(self) -> bool:
        return bool(self.new_items or self.due_soon or self.overdue)


def _stored():
    """Reports and follow-ups stored: complete and part of a report."""
    return Item.select(Item.id, Item.kind).where(Item.complete, Item.report.is_null(False), Item.kind.in_(KINDS))


def stored_ids() -> list[int]:
    """The ids of the reports and follow-ups stored now."""
    return [row.id for row in _stored()]


def items_digest(settings: Settings, ids: Iterable[int] | None = None) -> str:
    """The keyed digest of a set of items: `ids`, or those stored now. Only their sorted ids go in."""
    key = derive_key(settings.secret_key.encode(), spec.LABEL_NOTIFY_ITEMS)
    listed = ",".join(str(item) for item in sorted(stored_ids() if ids is None else ids))
    return hmac.new(key, listed.encode(), hashlib.sha256).hexdigest()


def _news(digest: str) -> bool:
    """Whether the stored items differ from those announced. Retention deleting some is not news
    (`after_deletion` moves the digest along); anything else that changed the set is, which errs
    towards one mail too many. Before the first run after the upgrade that brought the digest,
    the counts it kept decide (a kind with more items than announced)."""
    announced = Setting.read(ANNOUNCED, "")
    if announced:
        return not hmac.compare_digest(announced, digest)
    counts = json.loads(Setting.read(LEGACY_COUNTS, "{}"))
    stored = _stored()
    return any(stored.where(Item.kind == kind).count() > counts.get(kind, 0) for kind in KINDS)


def after_deletion(settings: Settings, before: Iterable[int]) -> None:
    """Retention deleted items; `before` are the ids stored before it did (`stored_ids`). If those
    were what was announced, what is left of them was too, so their digest becomes the announced
    one (else the next new report would be compared with a set that no longer exists, and
    deletions alone would send "new work"). Only what is left of `before`, never what is stored
    now: on PostgreSQL (READ COMMITTED) a report committed since `before` was read is in the
    table, and counting it as announced would keep it from ever being news. Counts kept from
    before the digest are dropped: the next run then announces once, erring towards a mail."""
    before = set(before)
    announced = Setting.read(ANNOUNCED, "")
    if announced and hmac.compare_digest(announced, items_digest(settings, before)):
        Setting.write(ANNOUNCED, items_digest(settings, before.intersection(stored_ids())))
    Setting.delete().where(Setting.key == LEGACY_COUNTS).execute()


def pending(settings: Settings, moment: datetime.datetime | None = None) -> Pending:
    announced = set(json.loads(Setting.read(ANNOUNCED_CLOCKS, "[]")))
    digest = items_digest(settings)
    result = Pending(new_items=_news(digest), digest=digest)
    for report in Report.select().where(Report.state.in_((*workflow.OPEN, "resolved"))):
        for clock in deadlines.clocks(settings, report, moment):
            if clock.status not in ("soon", "overdue"):
                continue
            fact = f"{report.id}:{clock.name}:{clock.status}"
            result.clocks.add(fact)
            if fact not in announced:
                result.overdue += clock.status == "overdue"
                result.due_soon += clock.status == "soon"
    return result


def due_slot(settings: Settings, moment: datetime.datetime | None = None) -> datetime.datetime | None:
    """The latest fixed time at or before `moment` that no run has handled yet, or None."""
    moment = (moment or datetime.datetime.now(settings.zone)).astimezone(settings.zone)
    slots = [
        datetime.datetime.combine(day, at, tzinfo=settings.zone)
        for day in (moment.date() - datetime.timedelta(days=1), moment.date())
        for at in settings.notify_times
    ]
    latest = max(slot for slot in slots if slot <= moment)
    handled = Setting.read(LAST_SLOT, "")
    if handled and datetime.datetime.fromisoformat(handled) >= latest:
        return None
    return latest


def next_slot(settings: Settings, moment: datetime.datetime | None = None) -> datetime.datetime:
    moment = (moment or datetime.datetime.now(settings.zone)).astimezone(settings.zone)
    return min(
        datetime.datetime.combine(day, at, tzinfo=settings.zone)
        for day in (moment.date(), moment.date() + datetime.timedelta(days=1))
        for at in settings.notify_times
        if datetime.datetime.combine(day, at, tzinfo=settings.zone) > moment
    )


MAIL_LANGUAGES = ("nl", "en")


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The portal's catalogue for a mail's language, without Flask (`meldpunt notify` runs from cron)."""
    return gettext.translation("messages", ROOT / "app" / "translations", languages=[language], fallback=True)


def translator(language: str) -> Translate:
    """`translate` for the mails of `meldpunt notify`, in MELDPUNT_MAIL_LANGUAGE."""
    catalogue = translations(language)

    def translate(text: str, **values: object) -> str:
        return catalogue.gettext(text) % values if values else catalogue.gettext(text)

    return translate


# The mails' texts are message ids (`N_`), translated by `translate` as in processing.py: English
# (`plain`) unless the caller passes the gettext of another language.
def compose(
    settings: Settings, found: Pending, sender: str, recipients: list[str], translate: Translate = plain
) -> EmailMessage | None:
    if not found:
        return None
    times = ", ".join(at.strftime("%H:%M") for at in settings.notify_times)
    organisation = settings["MELDPUNT_ORGANISATION"]
    return _mail(
        translate(N_("Meldpunt: new work")),
        sender,
        recipients,
        translate(
            N_(
                "There is new work in the %(organisation)s vulnerability portal: sign in to the team workspace.\n\n"
                "This mail is sent at fixed times (%(times)s) when something happened since the last one, and\n"
                "says nothing more on purpose: not what, not how much, not when.\n"
            ),
            organisation=organisation,
            times=times,
        ),
    )


def _mail(subject: str, sender: str, recipients: list[str], body: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content(body)
    return message


def head_message(
    settings: Settings, sender: str, recipients: list[str], translate: Translate = plain
) -> EmailMessage | None:
    """For the privacy officers (MELDPUNT_AUDIT_MAIL_TO): the history's head, if it moved since
    the last mail. Kept outside the server, these heads let `meldpunt audit verify --against`
    prove later that nobody rewrote or cut the history (app/domain/chain.py). No content."""
    current = chain.head()
    if not recipients or Setting.read(LAST_HEAD, "") == f"{current.seq}:{current.digest}":
        return None
    return _mail(
        translate(N_("Meldpunt: head of the history")),
        sender,
        recipients,
        translate(
            N_(
                "Head of the %(organisation)s vulnerability portal's history:\n\n"
                "    entry %(seq)s, fingerprint %(fingerprint)s\n\n"
                "Keep this mail. To check later that nobody rewrote or cut the history up to here, save it\n"
                "as a file and run `meldpunt audit verify --against FILE` (docs/privacy.md).\n"
            ),
            organisation=settings["MELDPUNT_ORGANISATION"],
            seq=current.seq,
            fingerprint=current.fingerprint,
        ),
    )


@dataclass(frozen=True)
class Verification:
    """The history checked at a fixed time: `broken_at` is the first entry that does not fit (None:
    it verifies); `skipped` when MELDPUNT_AUDIT_VERIFY = off is in effect (approved); `failed` when
    the check itself failed (`verification_failed`): what, in words that hold no content."""

    skipped: bool = False
    broken_at: int | None = None
    failed: str = ""
    reason: str = field(default="", compare=False)  # `failed` as a message id with its values
    values: dict = field(default_factory=dict, compare=False)

    @property
    def alarming(self) -> bool:
        return self.broken_at is not None or bool(self.failed)


def verify_history(settings: Settings) -> Verification:
    if not proposals.audit_verification(settings).effective:
        return Verification(skipped=True)
    verdict = chain.verify()
    # `length` is the last entry that fits, whatever the problem: the next is the first broken one.
    return Verification(broken_at=None if verdict else verdict.length + 1)


def verification_failed(error: Exception) -> Verification:
    """`verify_history` raised (a row it could not make sense of): still an alarm. It names the
    first entry that cannot be read, if there is one, and the kind of error, never its message
    (which may quote the row)."""
    kind = type(error).__name__
    try:
        unreadable = _first_unreadable_entry()
    except Exception:  # noqa: BLE001  (the database may be as broken as the row: say what is known)
        unreadable = None
    if unreadable is None:
        reason, values = N_("the history could not be verified (%(kind)s)"), {"kind": kind}
    else:
        reason = N_("the history could not be read at entry %(entry)s (%(kind)s)")
        values = {"entry": unreadable, "kind": kind}
    return Verification(failed=plain(reason, **values), reason=reason, values=values)


def _first_unreadable_entry() -> int | None:
    """The number of the first entry whose row does not load or whose times are not times."""
    timed = [field.name for field in Event._meta.sorted_fields if isinstance(field, DateField | DateTimeField)]
    rows = Event.select().order_by(Event.seq).iterator()
    for (seq,) in Event.select(Event.seq).order_by(Event.seq).tuples():
        if not isinstance(seq, int):
            return None
        try:
            entry = next(rows)
        except Exception:  # noqa: BLE001  (a row that does not load is the one to name)
            return seq
        values = [getattr(entry, name) for name in timed]
        if entry.seq != seq or any(value is not None and not isinstance(value, datetime.date) for value in values):
            return seq
    return None


def alarm_message(
    settings: Settings, checked: Verification, sender: str, recipients: list[str], translate: Translate = plain
) -> EmailMessage | None:
    """For the privacy officers, when the history does not verify: the first broken entry's number,
    and what to do. No content, no account, no reference: the mail provider learns only that."""
    if not checked.alarming or not recipients:
        return None
    organisation = settings["MELDPUNT_ORGANISATION"]
    if checked.broken_at is None:
        return _mail(
            translate(N_("Meldpunt: ALARM, the history could not be verified")),
            sender,
            recipients,
            translate(
                N_(
                    "The history of the %(organisation)s vulnerability portal could not be checked:\n\n"
                    "    %(failed)s.\n\n"
                    "An entry may have been damaged or changed in the database. Run `meldpunt audit verify --against\n"
                    "FILE` with the heads you kept, look at the History page of the privacy officer's workspace,\n"
                    'and follow docs/privacy.md ("Verifying the history").\n'
                ),
                organisation=organisation,
                failed=translate(checked.reason, **checked.values) if checked.reason else checked.failed,
            ),
        )
    return _mail(
        translate(N_("Meldpunt: ALARM, the history does not verify")),
        sender,
        recipients,
        translate(
            N_(
                "The history of the %(organisation)s vulnerability portal does not verify:\n\n"
                "    entry %(entry)s is the first that does not fit.\n\n"
                "An entry was changed, removed, inserted or moved, or the end of the history was cut off.\n"
                "Run `meldpunt audit verify --against FILE` with the heads you kept, look at the History page\n"
                'of the privacy officer\'s workspace, and follow docs/privacy.md ("Verifying the history").\n'
            ),
            organisation=organisation,
            entry=checked.broken_at,
        ),
    )


def remember_head() -> None:
    current = chain.head()
    Setting.write(LAST_HEAD, f"{current.seq}:{current.digest}")


# What a mail server answers about one message (a refused recipient or content): the next message
# may still go through. Their messages quote the address, so nothing prints them.
SMTP_REFUSALS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


@contextmanager
def connection(settings: Settings) -> Iterator[smtplib.SMTP]:
    """A connection to MELDPUNT_SMTP_HOST, secured (STARTTLS or TLS) and signed in as configured."""
    host, port = settings["MELDPUNT_SMTP_HOST"], int(settings["MELDPUNT_SMTP_PORT"])
    security = settings["MELDPUNT_SMTP_SECURITY"]
    context = ssl.create_default_context()
    if security == "ssl":
        client = smtplib.SMTP_SSL(host, port, context=context, timeout=30)
    else:
        client = smtplib.SMTP(host, port, timeout=30)
    with client:
        if security == "starttls":
            client.starttls(context=context)
        if settings.get("MELDPUNT_SMTP_USER"):
            client.login(settings["MELDPUNT_SMTP_USER"], settings["MELDPUNT_SMTP_PASSWORD"] or "")
        yield client


def send(settings: Settings, message: EmailMessage) -> None:
    with connection(settings) as client:
        client.send_message(message)


def remember(found: Pending, slot: datetime.datetime) -> None:
    """What has been announced: the digest of the items stored, the clocks due now (one that stops
    being due and becomes due again is a new fact), and the fixed time this run handled."""
    Setting.write(ANNOUNCED, found.digest)
    Setting.delete().where(Setting.key == LEGACY_COUNTS).execute()
    Setting.write(ANNOUNCED_CLOCKS, json.dumps(sorted(found.clocks)))
    Setting.write(LAST_SLOT, slot.isoformat())
