"""News for the reporter: an opt-in e-mail address, and a mail "there is news" at the fixed times.

The address is sealed (a crypto sealed box, X25519) to the notice key, MELDPUNT_NOTICE_KEY, whose
private half lives in the instance configuration and never in the database: a stolen database
alone does not reveal it. It is padded to one length before sealing, so the ciphertext does not
tell its length either. The language the reporter used goes inside the same box (the mail is in
that language), so no column says which language a reporter reads. The portal itself never opens
an address: only `meldpunt notify` does, to send the mail; the mailbox says that one is kept, not
which. It is never part of the report the team decrypts, never logged and never shown to the team.

News is what the reporter would see changed in their mailbox: a reply, the state, the expected
fix or planned disclosure date (app/domain/workflow.py `mark_news` sets `Mailbox.news_pending`).
At each fixed notification time `meldpunt notify` mails every mailbox that has news and an
address, one mail each, in a shuffled order (the mail server learns nothing of the rows' order),
with no transaction open while it talks to the mail server: each mailbox's flag is cleared in a
short commit of its own right after its mail went out, so a mail server that stops halfway (rate
limiting) leaves only the rest flagged for the next fixed time, and a report submitted meanwhile
never waits for the mail server. The mail says only that there is news and where to sign in: no
reference, no state, no content (docs/privacy.md), and how to stop it without the passphrase: a
link with a random stop token (`new_stop_token`) and RFC 8058's one-click List-Unsubscribe headers.
There is no confirmation mail when an address is left: its moment would tie a mail to the
reporter's action (docs/threat-model.md); the stop link in every mail is the way out for someone
whose address was left by another. An address the mail server refuses permanently (5xx) at
REFUSALS_BEFORE_DELETION fixed times in a row is deleted.
"""

import json
import secrets
import smtplib
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid

from peewee import DatabaseError

from crypto import NotForThisKey, PrivateKey, PublicKey, primitives, spec
from crypto.secretbox import derive_key

from . import notify
from .db import database
from .errors import NotFound
from .models import Mailbox, NewsAddress
from .settings import Settings

MAX_ADDRESS = 254  # RFC 5321's limit on a forward path, less the angle brackets
MAX_LOCAL_PART = 64
PADDED_BYTES = 512  # every sealed address is this long inside: its length tells nothing
LANGUAGES = notify.MAIL_LANGUAGES
STOP_TOKEN_BYTES = 24  # the stop link's token, 192 random bits (32 characters: the link stays on one line)
# A permanent refusal (5xx) at this many fixed times in a row deletes the address: with the default
# two fixed times a day, refused for two and a half days (a typo, a closed mailbox), not one bad hour.
REFUSALS_BEFORE_DELETION = 5
_LOCAL_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.")
_DOMAIN_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def N_(text: str) -> str:
    """Marks a message for translation (pybabel extracts it); translated in `compose`."""
    return text


SUBJECT = N_("News in your mailbox")
BODY = N_(
    "There is news for you in the %(organisation)s vulnerability portal.\n\n"
    "Sign in with your passphrase to read it:\n\n    %(url)s\n\n"
    "This mail says nothing more on purpose. To get no more of these mails, without your\n"
    "passphrase, open:\n\n    %(stop)s\n"
)


ONION = N_("Over Tor, the same sign-in is at:\n\n    %(url)s\n")


class NoticeKeyMissing(NotFound):
    """No notice key is configured (MELDPUNT_NOTICE_KEY): the portal offers no news mail."""


class AddressRefused(ValueError):
    """Not an e-mail address the portal will mail to. The web layer says why in the page's language."""


def offered(settings: Settings) -> bool:
    """Whether the portal offers news mail: only with a notice key."""
    return settings.notice_public is not None


def normalise(text: str) -> str:
    """`text` as an address to store: trimmed, the domain in lower case and IDNA (ASCII).
    AddressRefused when it is not `local@domain.tld` with an ordinary local part. An RFC 2047
    encoded word (`=?…?=`) is refused: a mail header would decode it into other addresses or a line
    break, and the address must read the same in the To header as here (`_header_safe`)."""
    address = (text or "").strip()
    if not address or len(address) > MAX_ADDRESS or "@" not in address:
        raise AddressRefused(address)
    local, _, domain = address.rpartition("@")
    if not 0 < len(local) <= MAX_LOCAL_PART or not set(local) <= _LOCAL_ALLOWED or "=?" in local:
        raise AddressRefused(address)
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise AddressRefused(address)
    try:
        domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError:
        raise AddressRefused(address) from None
    labels = domain.split(".")
    if len(labels) < 2 or not all(0 < len(label) <= 63 and set(label) <= _DOMAIN_ALLOWED for label in labels):
        raise AddressRefused(address)
    if any(label.startswith("-") or label.endswith("-") for label in labels) or labels[-1].isdigit():
        raise AddressRefused(address)
    result = f"{local}@{domain}"
    if len(result) > MAX_ADDRESS or not _header_safe(result):
        raise AddressRefused(address)
    return result


def _header_safe(address: str) -> bool:
    """Whether the mail library reads `address` back as exactly this one address."""
    try:
        return Address(addr_spec=address).addr_spec == address
    except (ValueError, IndexError, TypeError):
        return False


def seal(public: PublicKey, address: str, language: str, stop: str) -> bytes:
    """The address, language and stop token as one sealed box to `public`, padded to
    PADDED_BYTES first (JSON, then 0x80 and zeros, the envelope's padding rule: docs/format.md)."""
    fields = {"address": address, "language": language, "stop": stop}
    body = json.dumps(fields, separators=(",", ":")).encode()
    if len(body) >= PADDED_BYTES:
        raise AddressRefused(address)
    padded = body + b"\x80" + bytes(PADDED_BYTES - len(body) - 1)
    return primitives.seal_box(padded, public.raw)


def new_stop_token() -> str:
    return secrets.token_urlsafe(STOP_TOKEN_BYTES)


def stop_hash(settings: Settings, token: str) -> str:
    """What the row keeps of the stop token: a hash keyed with a key derived from SECRET_KEY. Keyed,
    because a copy of a news mail (its relay, the reporter's provider) together with a stolen
    database would otherwise find the address's row, and so the report, without the notice key.
    `reseal` recomputes every row's hash at each `meldpunt notify`, so a new SECRET_KEY (or notice
    key) is followed before the next mail."""
    key = derive_key(settings.secret_key.encode(), spec.LABEL_NEWS_STOP)
    return primitives.keyed_hash(key, token.encode("ascii", "replace")).hex()


@dataclass(frozen=True)
class Opened:
    address: str
    language: str
    key: PrivateKey  # the notice key that opened it: the current one, or one being rotated out
    stop: str = ""  # the stop token; empty in an address sealed before stop links existed


def open_sealed(keys: tuple[PrivateKey, ...], sealed: bytes) -> Opened:
    """The sealed address opened with the first of `keys` that opens it; NotForThisKey if none."""
    for key in keys:
        try:
            padded = key.unseal(bytes(sealed))
        except NotForThisKey:
            continue
        body = padded.rstrip(b"\x00")
        if not body.endswith(b"\x80"):
            raise NotForThisKey("the sealed address is not padded as the portal pads")
        fields = json.loads(body[:-1])
        return Opened(str(fields["address"]), str(fields.get("language", "en")), key, str(fields.get("stop", "")))
    raise NotForThisKey("no configured notice key opens this address")


def sealed_address(settings: Settings, address: str, language: str) -> tuple[bytes, str]:
    """A new address checked and sealed to the notice key's public half, with a fresh stop token:
    (the sealed box, the token's hash). Nothing is stored: `store_address` does that, inside the
    caller's transaction (the report form stores it with the report: all or nothing)."""
    public = settings.notice_public
    if public is None:
        raise NoticeKeyMissing("no notice key is configured")
    token = new_stop_token()
    sealed = seal(public, normalise(address), language if language in LANGUAGES else "en", token)
    return sealed, stop_hash(settings, token)


def store_address(mailbox_id: int, sealed: tuple[bytes, str]) -> None:
    """Keep (or replace) the mailbox's news address, as `sealed_address` made it. The flag of
    pending news is left as it is: what the reporter does changes nothing but the address."""
    box, stop = sealed
    with database.atomic():
        changed = NewsAddress.update(sealed=box, stop=stop, refusals=0).where(NewsAddress.mailbox == mailbox_id)
        if not changed.execute():
            NewsAddress.create(mailbox=mailbox_id, sealed=box, stop=stop)


def set_address(settings: Settings, mailbox: Mailbox, address: str, language: str) -> None:
    """Keep (or replace) the mailbox's news address, sealed to the current notice key."""
    store_address(mailbox.id, sealed_address(settings, address, language))


def remove_address(mailbox: Mailbox) -> None:
    """The reporter removed their address: the row goes (SQLite's secure_delete overwrites it)."""
    NewsAddress.delete().where(NewsAddress.mailbox == mailbox.id).execute()


def stop(settings: Settings, token: str) -> bool:
    """The stop link was confirmed: the address it was sent to is deleted. False if none was kept."""
    return bool(token) and bool(NewsAddress.delete().where(NewsAddress.stop == stop_hash(settings, token)).execute())


def has_address(mailbox: Mailbox) -> bool:
    return NewsAddress.select().where(NewsAddress.mailbox == mailbox.id).exists()


def count() -> int:
    """How many news addresses are kept (the privacy officers' inventory counts the rows too)."""
    return NewsAddress.select().count()


def compose(settings: Settings, opened: Opened, sender: str) -> EmailMessage:
    """The mail: that there is news, the address to sign in at and the stop link, in the reporter's
    language, with RFC 8058's one-click List-Unsubscribe. Nothing else: no reference, no state, no
    content, no date."""
    translate = notify.translations(opened.language if opened.language in LANGUAGES else "en").gettext
    base = str(settings.get("MELDPUNT_BASE_URL") or "").rstrip("/")
    stop_url = f"{base}/news/stop/{opened.stop}"
    message = EmailMessage()
    message["Subject"] = translate(SUBJECT)
    message["From"] = sender
    message["To"] = opened.address
    # Python's default Message-ID names this host: the mail provider learns nothing from ours.
    message["Message-ID"] = make_msgid(domain="meldpunt.invalid")
    message["List-Unsubscribe"] = f"<{stop_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    values = {"organisation": settings["MELDPUNT_ORGANISATION"], "url": f"{base}/replies", "stop": stop_url}
    body = translate(BODY) % values
    onion = str(settings.get("MELDPUNT_ONION_ADDRESS") or "").rstrip("/")
    if onion:  # reporters who came over Tor find their way back the same way
        body += "\n" + translate(ONION) % {"url": f"{onion}/replies"}
    message.set_content(body)
    return message


@dataclass
class Delivery:
    """What a fixed time's news run did, in numbers only (never an address)."""

    sent: int = 0
    failed: int = 0  # the mail server refused it: the flag stays, the next fixed time tries again
    unreadable: int = 0  # no configured notice key opens the address: the flag stays
    unsendable: int = 0  # no mail could be made or sent for it (any other error): the flag stays
    deleted: int = 0  # refused permanently at REFUSALS_BEFORE_DELETION fixed times in a row
    resealed: int = 0  # opened with a previous notice key and sealed again to the current one
    left: int = 0  # not tried: the mail server went away twice; the next fixed time tries them
    unrecorded: int = 0  # sent, but the flag could not be cleared: mailed again at the next fixed time
    stopped: str = ""  # why the run stopped early (an exception's class name), or empty


# The connection is gone or the server closes it (421): reconnect once, else stop for this time.
CONNECTION_LOST = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError)


def _connection_lost(exc: BaseException) -> bool:
    """The server went away or said 421 ("closing"; smtplib has closed the connection then)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _text in exc.recipients.values())
    return isinstance(exc, CONNECTION_LOST) or getattr(exc, "smtp_code", 0) == 421


def _permanent(exc: BaseException) -> bool:
    """The recipient itself refused for good: an enhanced status 5.1.x (no such mailbox, no such
    domain, a bad address), or 550/551/553 without an enhanced status. A 5.7.x ("relay access
    denied", a policy) or any other 5xx says something of our sender or relay, not of the address,
    and counts nothing: a misconfigured relay must not delete every address in a few days."""
    if not isinstance(exc, smtplib.SMTPRecipientsRefused):
        return False
    for code, text in exc.recipients.values():
        first = (text or b"").split(maxsplit=1)[:1]
        enhanced = first[0] if first and first[0][:2] in (b"2.", b"4.", b"5.") else b""
        if enhanced.startswith(b"5.1."):
            continue
        if code in (550, 551, 553) and not enhanced:
            continue
        return False
    return True


def waiting() -> tuple[list[tuple[int, bytes, int]], list[int]]:
    """In one short transaction: the (mailbox id, sealed address, refusals) of each mailbox with news
    and an address, and the ids of those with news and none."""
    with database.atomic():
        mailed = list(
            NewsAddress.select(NewsAddress.mailbox, NewsAddress.sealed, NewsAddress.refusals)
            .join(Mailbox, on=(NewsAddress.mailbox == Mailbox.id))
            .where(Mailbox.news_pending)
            .tuples()
        )
        addressed = {row[0] for row in mailed}
        others = [row for (row,) in Mailbox.select(Mailbox.id).where(Mailbox.news_pending).tuples()]
    return mailed, [row for row in others if row not in addressed]


def _clear(mailbox_ids: list[int]) -> None:
    """The flags of mailboxes read at the start, and only theirs: one set since stays set."""
    if mailbox_ids:
        with database.atomic():
            Mailbox.update(news_pending=False).where(Mailbox.id.in_(mailbox_ids)).execute()


def _sent(mailbox_id: int) -> None:
    with database.atomic():
        Mailbox.update(news_pending=False).where(Mailbox.id == mailbox_id).execute()
        NewsAddress.update(refusals=0).where(NewsAddress.mailbox == mailbox_id).execute()


def _refused(mailbox_id: int, sealed: bytes, refusals: int) -> bool:
    """One more permanent refusal; at REFUSALS_BEFORE_DELETION the address goes (and with it the
    flag, which no mail will answer). Only the address that was refused: one the reporter changed
    meanwhile starts anew. True if it was deleted."""
    unchanged = (NewsAddress.mailbox == mailbox_id) & (NewsAddress.sealed == sealed)
    with database.atomic():
        if refusals + 1 >= REFUSALS_BEFORE_DELETION:
            gone = NewsAddress.delete().where(unchanged).execute()
            if gone:
                Mailbox.update(news_pending=False).where(Mailbox.id == mailbox_id).execute()
            return bool(gone)
        NewsAddress.update(refusals=NewsAddress.refusals + 1).where(unchanged).execute()
    return False


def deliver(settings: Settings, sender: str) -> Delivery:
    """At a fixed time: one mail to each mailbox with news and an address, in a shuffled order,
    with no transaction open while the mail server is talked to; each mailbox's flag is cleared
    right after its mail went out, and those of mailboxes with news but no address at the start.
    A connection that is lost is made again once; lost again, the rest waits for the next fixed
    time. Any other error for one mailbox is counted and never stops the others."""
    done = Delivery()
    keys = settings.notice_keys
    mailed, unaddressed = waiting()
    _clear(unaddressed)
    if not keys:
        done.unreadable = len(mailed)
        return done
    secrets.SystemRandom().shuffle(mailed)  # the relay must not learn the rows' order
    queue = list(mailed)
    refused: list[tuple[int, bytes, int]] = []
    reconnected = False
    while queue:
        try:
            with notify.connection(settings) as client:
                while queue:
                    mailbox_id, sealed, refusals = queue[0]
                    _one(settings, client, sender, keys, (mailbox_id, bytes(sealed), refusals), done, refused)
                    queue.pop(0)
        except Exception as exc:  # connection-level, or the sign-in; the message may name an address
            if not _connection_lost(exc) and not isinstance(exc, smtplib.SMTPException):
                raise
            if reconnected:
                done.stopped = type(exc).__name__
                done.left = len(queue)
                break
            reconnected = True
    # A refusal counts against an address only when the same relay took another reporter's mail
    # in this run: a relay that refuses everyone is refusing us, not the addresses.
    for row in refused:
        if done.sent and _refused(*row):
            done.deleted += 1
        else:
            done.failed += 1
    return done


def _one(settings, client, sender, keys, row: tuple[int, bytes, int], done: Delivery, refused: list) -> None:
    """One mailbox's mail. A lost connection propagates (`deliver` reconnects); a permanent refusal
    of the address goes to `refused`, for `deliver` to weigh; anything else is counted here."""
    mailbox_id, sealed, _refusals = row
    try:
        opened = open_sealed(keys, sealed)
    except (NotForThisKey, ValueError, KeyError):
        done.unreadable += 1
        return
    try:
        client.send_message(compose(settings, opened, sender))
    except Exception as exc:  # counted, never shown: the message may name the address
        if _connection_lost(exc):
            raise
        if _permanent(exc):
            refused.append(row)
        elif isinstance(exc, notify.SMTP_REFUSALS):
            done.failed += 1
        else:
            done.unsendable += 1
        _reset(client)
        return
    done.sent += 1
    try:
        _sent(mailbox_id)
    except DatabaseError:  # the mail went out; the next fixed time mails it again, the others go on
        done.unrecorded += 1


def _reset(client: smtplib.SMTP) -> None:
    """After a refused mail, the transaction on the connection is reset for the next one."""
    try:
        client.rset()
    except smtplib.SMTPException:
        pass


def reseal(settings: Settings) -> Delivery:
    """Addresses still sealed to a previous notice key (or sealed before stop links existed),
    sealed again to the current one (key rotation, docs/operations.md). Each update only if the
    row is still what was read: an address the reporter changed meanwhile is theirs. Those no key
    opens are counted and left alone."""
    done = Delivery()
    keys = settings.notice_keys
    if not keys:
        return done
    rows = NewsAddress.select(NewsAddress.mailbox, NewsAddress.sealed, NewsAddress.stop).tuples()
    for mailbox_id, sealed, stored_hash in list(rows):
        sealed = bytes(sealed)
        try:
            opened = open_sealed(keys, sealed)
        except (NotForThisKey, ValueError, KeyError):
            done.unreadable += 1
            continue
        token = opened.stop or new_stop_token()
        if opened.key is not keys[0] or not opened.stop or stored_hash != stop_hash(settings, token):
            fresh = seal(keys[0].public, opened.address, opened.language, token)
            unchanged = (NewsAddress.mailbox == mailbox_id) & (NewsAddress.sealed == sealed)
            if NewsAddress.update(sealed=fresh, stop=stop_hash(settings, token)).where(unchanged).execute():
                done.resealed += 1
    return done
