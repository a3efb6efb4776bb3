"""Reporter passphrases and the identity derived from them (docs/format.md, "Reporter identity").

A reporter has no account: seven words from the EFF large word list (90.4 bits) are the only thing
that links them to their report. From the words and the installation salt, one argon2id call
derives a lookup token (its hash stored, to find the mailbox) and an X25519 key (its public half
stored, to seal to). The words themselves are never stored. With JavaScript, the browser does the
same (static/js/identity.mjs) and the server sees only the token and the public key.
"""

import functools
import math
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from importlib import resources

from . import primitives, spec
from .errors import InvalidPassphrase
from .kdf import argon2id
from .keys import PrivateKey

# Separators people type between words: every code point str.isspace() calls white space (written
# out rather than `\s`, whose meaning differs between regex engines: the browser's normalise in
# static/js/identity.mjs uses exactly this class), hyphens and dashes of every kind, the minus sign,
# underscores, dots, commas, semicolons, colons and slashes. tests/test_identity_vectors.py checks
# the set and this class against str.isspace() over every code point.
WHITE_SPACE = (
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
PUNCTUATION = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212_.,;:/"
SEPARATORS = frozenset(WHITE_SPACE + PUNCTUATION)
SEPARATOR_CLASS = "[" + "".join(f"\\u{ord(char):04x}" for char in sorted(SEPARATORS)) + "]"
_SEPARATORS = re.compile(SEPARATOR_CLASS + "+")


@functools.cache
def wordlist() -> tuple[str, ...]:
    """The EFF large list as shipped by xkcdpass, less its four hyphenated words.

    Dropping them keeps hyphens free to act as separators without ambiguity; 7,772 words remain.
    """
    text = resources.files("xkcdpass").joinpath("static/eff-long").read_text(encoding="utf-8")
    words = tuple(word for word in text.split() if word.isalpha())
    if len(words) != 7772 or len(set(words)) != len(words):
        raise RuntimeError("the installed xkcdpass does not carry the expected EFF large word list")
    return words


@functools.cache
def _wordset() -> frozenset[str]:
    return frozenset(wordlist())


def entropy_bits(words: int = spec.PASSPHRASE_WORDS) -> float:
    return words * math.log2(len(wordlist()))


class Passphrase:
    """A normalised reporter passphrase. Prints as `<redacted>`; `reveal()` gives the words."""

    __slots__ = ("_text",)

    def __init__(self, text: str):
        self._text = text

    def reveal(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return "<Passphrase redacted>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Passphrase) and primitives.equal(self._text.encode(), other._text.encode())

    __hash__ = None  # type: ignore[assignment]


def generate(words: int = spec.PASSPHRASE_WORDS) -> Passphrase:
    chosen = [secrets.choice(wordlist()) for _ in range(words)]
    return Passphrase(" ".join(chosen))


def normalise(text: str) -> str:
    """Lower case, one space between words, whatever separators or case were typed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(part for part in _SEPARATORS.split(folded) if part)


def parse(text: str) -> Passphrase:
    """Normalise typed input and check it against the word list."""
    normalised = normalise(text)
    words = normalised.split(" ") if normalised else []  # separators alone are no words
    if len(words) != spec.PASSPHRASE_WORDS:
        raise InvalidPassphrase(
            f"A passphrase has {spec.PASSPHRASE_WORDS} words; this one has {len(words)}.", words=len(words)
        )
    unknown = [i + 1 for i, word in enumerate(words) if word not in _wordset()]
    if unknown:
        positions = ", ".join(str(i) for i in unknown)
        raise InvalidPassphrase(
            f"Word {positions} is not one of the passphrase words; check the spelling.",
            words=len(words),
            unknown=tuple(unknown),
        )
    return Passphrase(" ".join(words))


@dataclass(frozen=True)
class ReporterIdentity:
    """What the server derives from a passphrase for one request, then forgets."""

    lookup_token: bytes = field(repr=False)
    key: PrivateKey


def lookup_hash(token: bytes) -> bytes:
    """What the database keeps of a lookup token (docs/format.md, "Reporter identity"): finding a
    mailbox needs the token, which only the passphrase gives; the hash alone opens nothing."""
    return primitives.keyed_hash(token, spec.LABEL_LOOKUP_HASH)


def new_installation_salt() -> bytes:
    return primitives.random_bytes(spec.INSTALLATION_SALT_BYTES)


def derive(
    passphrase: Passphrase, installation_salt: bytes, params: spec.Argon2Params = spec.REPORTER_KDF
) -> ReporterIdentity:
    if len(installation_salt) < spec.INSTALLATION_SALT_BYTES:
        raise ValueError("the installation salt is too short")
    master = argon2id(passphrase.reveal().encode("utf-8"), installation_salt, params)
    return ReporterIdentity(
        lookup_token=primitives.keyed_hash(master, spec.LABEL_LOOKUP_TOKEN),
        key=PrivateKey(primitives.keyed_hash(master, spec.LABEL_REPORTER_KEY)),
    )
