"""Every way the crypto core can refuse, one class each, under one root.

Callers (the portal, the CLI, the tests) match on these types, never on message text. Each message
is one sentence a person can act on; none of them carries secret material.
"""


class CryptoError(Exception):
    """Root of every failure raised by `crypto`."""


class WrongPassphrase(CryptoError):
    """The passphrase does not open this key file."""


class InvalidPassphrase(CryptoError):
    """A reporter passphrase is not made of the expected words.

    `words` is how many were typed and `unknown` the 1-based positions of words not in the list,
    so a portal can say what is wrong in the reporter's language.
    """

    def __init__(self, message: str, words: int = 0, unknown: tuple[int, ...] = ()):
        super().__init__(message)
        self.words = words
        self.unknown = unknown


class NotForThisKey(CryptoError):
    """The envelope has no recipient stanza that this key can open."""


class Tampered(CryptoError):
    """Authentication failed: the data was changed, corrupted or spliced."""


class Truncated(Tampered):
    """The data ends before its authenticated end marker."""


class NotAnEnvelope(CryptoError):
    """The input does not start with the envelope magic."""


class UnsupportedVersion(CryptoError):
    """A version this implementation does not know (envelope, key file or bundle)."""


class MalformedEnvelope(CryptoError):
    """Authentic, but the decrypted content breaks the format rules (metadata, padding)."""


class InvalidPublicKey(CryptoError):
    """A public key line with the wrong prefix, length or checksum."""


class InvalidKeyFile(CryptoError):
    """A private key file that is damaged or not a Meldpunt key file."""


class KeyFileExists(CryptoError):
    """Refusing to overwrite an existing key file."""


class UnsafeFileName(CryptoError):
    """A file name that would escape its folder or name a device."""


class MalformedBundle(CryptoError):
    """An export bundle whose zip structure or manifest breaks the bundle rules."""


class WeakPassphrase(CryptoError):
    """A passphrase too short to protect a team key."""


class OutputNotEmpty(CryptoError):
    """The folder chosen for `meldpunt-team open` already holds files."""


class UnusableOutput(CryptoError):
    """The output chosen for `meldpunt-team open` is a file, a dangling link, or has no parent folder."""


class NothingOpened(CryptoError):
    """`meldpunt-team open` could open no item of a bundle (or no bundle of a collection).

    `failures` holds what could not be opened and why; nothing decrypted is kept.
    """

    def __init__(self, message: str, failures: tuple = ()):
        super().__init__(message)
        self.failures = failures
