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
address, one mail each, then clears the flag of every mailbox: at most one mail per mailbox per
period, and the flag never holds more than "since the last fixed time". The mail says only that
there is news and where to sign in: no reference, no state, no content (docs/privacy.md).
"""

import json
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from crypto import NotForThisKey, PrivateKey, PublicKey, primitives

from . import notify
from .errors import NotFound
from .models import Mailbox, NewsAddress
from .settings import Settings

MAX_ADDRESS = 254  # RFC 5321's limit on a forward path, less the angle brackets
MAX_LOCAL_PART = 64
PADDED_BYTES = 512  # every sealed address is this long inside: its length tells nothing
LANGUAGES = notify.MAIL_LANGUAGES
_LOCAL_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.")
_DOMAIN_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def N_(text: str) -> str:
    """Marks a message for translation (pybabel extracts it); translated in `compose`."""
    return text


SUBJECT = N_("News in your mailbox")
BODY = N_(
    "There is news for you in the %(organisation)s vulnerability portal.\n\n"
    "Sign in with your passphrase to read it:\n\n    %(url)s\n\n"
    "This mail says nothing more on purpose. You asked for it; to stop it, remove your address\n"
    "in your mailbox.\n"
)


ONION = N_("Over Tor, the same sign-in is at:\n\n    %(url)s\n")


class NoticeKeyMissing(NotFound):
    """No notice key is configured (MELDPUNT_NOTICE_KEY): the portal offers no news mail."""


class AddressRefused(ValueError):
    """Not an e-mail address the portal will mail to. The web layer says why in the page's language."""


def offered(settings: Settings) -> bool:
    """Whether the portal offers news mail: only with a notice key."""
    return bool(settings.notice_keys)


def normalise(text: str) -> str:
    """`text` as an address to store: trimmed, the domain in lower case and IDNA (ASCII).
    AddressRefused when it is not `local@domain.tld` with an ordinary local part."""
    address = (text or "").strip()
    if not address or len(address) > MAX_ADDRESS or "@" not in address:
        raise AddressRefused(address)
    local, _, domain = address.rpartition("@")
    if not 0 < len(local) <= MAX_LOCAL_PART or not set(local) <= _LOCAL_ALLOWED:
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
    if len(result) > MAX_ADDRESS:
        raise AddressRefused(address)
    return result


def seal(public: PublicKey, address: str, language: str) -> bytes:
    """The address and language as one sealed box to `public`, padded to PADDED_BYTES first
    (JSON, then 0x80 and zeros, the envelope's padding rule: docs/format.md)."""
    body = json.dumps({"address": address, "language": language}, separators=(",", ":")).encode()
    if len(body) >= PADDED_BYTES:
        raise AddressRefused(address)
    padded = body + b"\x80" + bytes(PADDED_BYTES - len(body) - 1)
    return primitives.seal_box(padded, public.raw)


@dataclass(frozen=True)
class Opened:
    address: str
    language: str
    key: PrivateKey  # the notice key that opened it: the current one, or one being rotated out


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
        return Opened(str(fields["address"]), str(fields.get("language", "en")), key)
    raise NotForThisKey("no configured notice key opens this address")


def set_address(settings: Settings, mailbox: Mailbox, address: str, language: str) -> None:
    """Keep (or replace) the mailbox's news address, sealed to the current notice key. The flag of
    pending news is left as it is: what the reporter does changes nothing but the address."""
    if not offered(settings):
        raise NoticeKeyMissing("no notice key is configured")
    sealed = seal(settings.notice_keys[0].public, normalise(address), language if language in LANGUAGES else "en")
    if not NewsAddress.update(sealed=sealed).where(NewsAddress.mailbox == mailbox.id).execute():
        NewsAddress.create(mailbox=mailbox.id, sealed=sealed)


def remove_address(mailbox: Mailbox) -> None:
    """The reporter removed their address: the row goes (SQLite's secure_delete overwrites it)."""
    NewsAddress.delete().where(NewsAddress.mailbox == mailbox.id).execute()


def has_address(mailbox: Mailbox) -> bool:
    return NewsAddress.select().where(NewsAddress.mailbox == mailbox.id).exists()


def count() -> int:
    """How many news addresses are kept (the privacy officers' inventory counts the rows too)."""
    return NewsAddress.select().count()


def compose(settings: Settings, opened: Opened, sender: str) -> EmailMessage:
    """The mail: that there is news, and the address to sign in at, in the reporter's language.
    Nothing else: no reference, no state, no content, no date."""
    translate = notify.translations(opened.language if opened.language in LANGUAGES else "en").gettext
    base = str(settings.get("MELDPUNT_BASE_URL") or "").rstrip("/")
    message = EmailMessage()
    message["Subject"] = translate(SUBJECT)
    message["From"] = sender
    message["To"] = opened.address
    # Python's default Message-ID names this host: the mail provider learns nothing from ours.
    message["Message-ID"] = make_msgid(domain="meldpunt.invalid")
    values = {"organisation": settings["MELDPUNT_ORGANISATION"], "url": f"{base}/replies"}
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
    resealed: int = 0  # opened with a previous notice key and sealed again to the current one


def deliver(settings: Settings, sender: str) -> Delivery:
    """At a fixed time: one mail to each mailbox with news and an address, then every other
    mailbox's flag cleared, those mailed or without an address alike. One SMTP connection."""
    done = Delivery()
    keys = settings.notice_keys
    waiting = list(
        NewsAddress.select(NewsAddress.mailbox, NewsAddress.sealed)
        .join(Mailbox, on=(NewsAddress.mailbox == Mailbox.id))
        .where(Mailbox.news_pending)
        .tuples()
    )
    keep = set()
    if waiting and keys:
        with notify.connection(settings) as client:
            for mailbox_id, sealed in waiting:
                try:
                    opened = open_sealed(keys, sealed)
                except (NotForThisKey, ValueError, KeyError):
                    done.unreadable += 1
                    keep.add(mailbox_id)
                    continue
                try:
                    client.send_message(compose(settings, opened, sender))
                except notify.SMTP_REFUSALS:  # the message names the address: never shown
                    done.failed += 1
                    keep.add(mailbox_id)
                    continue
                done.sent += 1
    elif waiting:
        done.unreadable = len(waiting)
        keep = {mailbox_id for mailbox_id, _sealed in waiting}
    cleared = Mailbox.update(news_pending=False).where(Mailbox.news_pending)
    if keep:
        cleared = cleared.where(Mailbox.id.not_in(list(keep)))
    cleared.execute()
    return done


def reseal(settings: Settings) -> Delivery:
    """Addresses still sealed to a previous notice key, sealed again to the current one (key
    rotation, docs/operations.md). Those no key opens are counted and left alone."""
    done = Delivery()
    keys = settings.notice_keys
    if len(keys) < 2:
        return done
    for mailbox_id, sealed in list(NewsAddress.select(NewsAddress.mailbox, NewsAddress.sealed).tuples()):
        try:
            opened = open_sealed(keys, sealed)
        except (NotForThisKey, ValueError, KeyError):
            done.unreadable += 1
            continue
        if opened.key is not keys[0]:
            fresh = seal(keys[0].public, opened.address, opened.language)
            NewsAddress.update(sealed=fresh).where(NewsAddress.mailbox == mailbox_id).execute()
            done.resealed += 1
    return done
