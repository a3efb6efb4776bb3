"""Every label, size and parameter of the formats, in one place.

Section names refer to docs/format.md; change a value here only together with that page and a new
version number.
"""

from dataclasses import dataclass

# --- Envelope v1 (docs/format.md, "Header") ---------------------------------------------------

MAGIC = b"meldpunt"
VERSION = 1
MAX_RECIPIENTS = 16

SALT_BYTES = 16
KEY_ID_BYTES = 8
FILE_KEY_BYTES = 32
SEALED_KEY_BYTES = 80  # crypto_box_seal of a 32-byte file key: 32 + 48
STANZA_BYTES = KEY_ID_BYTES + SEALED_KEY_BYTES
STREAM_HEADER_BYTES = 24
MAC_BYTES = 32

PREAMBLE_BYTES = len(MAGIC) + 1 + 1 + 2  # magic, version, count, header length
FIXED_HEADER_BYTES = PREAMBLE_BYTES + SALT_BYTES + STREAM_HEADER_BYTES


def header_length(recipients: int) -> int:
    return FIXED_HEADER_BYTES + recipients * STANZA_BYTES + MAC_BYTES


# --- Envelope v1 (docs/format.md, "Payload") --------------------------------------------------

CHUNK_BYTES = 64 * 1024
CHUNK_OVERHEAD = 17  # crypto_secretstream_xchacha20poly1305_ABYTES
SEALED_CHUNK_BYTES = CHUNK_BYTES + CHUNK_OVERHEAD
MIN_SEALED_CHUNK_BYTES = 1 + CHUNK_OVERHEAD  # a chunk carries at least one byte
META_LENGTH_BYTES = 4
MAX_META_BYTES = 8 * 1024
PADDING_MARKER = 0x80
MIN_PADDED_BYTES = 4096

# Keyed BLAKE2b labels: the label is the message, the file key is the key.
LABEL_HEADER_MAC = b"meldpunt/v1/header-mac"
LABEL_PAYLOAD = b"meldpunt/v1/payload"

KINDS = ("report", "message", "attachment", "reply")

# --- Public keys and fingerprints (docs/format.md, "Keys") ------------------------------------

PUBLIC_KEY_PREFIX = "mpk1"
PUBLIC_KEY_CHECKSUM_BYTES = 4
LABEL_PUBLIC_KEY_CHECKSUM = b"meldpunt/v1/public-key-checksum"
LABEL_FINGERPRINT = b"meldpunt/v1/fingerprint"
FINGERPRINT_BYTES = 10


# --- Passphrase-derived keys (docs/format.md, "Key file" and "Reporter identity") -------------


@dataclass(frozen=True)
class Argon2Params:
    """argon2id cost: memory in KiB, passes, lanes."""

    memory_kib: int
    time: int
    lanes: int = 1


# The team's private key lives offline and is opened rarely: make every guess expensive.
KEY_FILE_KDF = Argon2Params(memory_kib=256 * 1024, time=4)
KEY_FILE_KDF_MINIMUM = Argon2Params(memory_kib=256 * 1024, time=3)
# Refuse to even try a key file asking for more than this (a damaged or hostile file).
KEY_FILE_KDF_MAXIMUM = Argon2Params(memory_kib=4 * 1024 * 1024, time=64, lanes=16)
KEY_FILE_VERSION = 1
KEY_FILE_KDF_ARGON2ID = 1
KEY_FILE_SALT_BYTES = 16
KEY_FILE_NONCE_BYTES = 24
KEY_FILE_CHECKSUM_BYTES = 4
KEY_FILE_ARMOR = "MELDPUNT TEAM KEY"

# Reporters come back over Tor on whatever device they have: costly, but not minutes.
REPORTER_KDF = Argon2Params(memory_kib=64 * 1024, time=3)
INSTALLATION_SALT_BYTES = 16
LABEL_LOOKUP_TOKEN = b"meldpunt/v1/lookup-token"
LABEL_REPORTER_KEY = b"meldpunt/v1/reporter-key"
# What the database stores of the lookup token: a hash, so a stolen database signs no one in.
LABEL_LOOKUP_HASH = b"meldpunt/v1/lookup-hash"
PASSPHRASE_WORDS = 7

# --- Export bundle (docs/format.md, "Export bundle") -----------------------------------------

BUNDLE_FORMAT = "meldpunt-bundle"
BUNDLE_VERSION = 1
BUNDLE_MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_BUNDLE_ITEMS = 10_000
MAX_COLLECTION_BUNDLES = 10_000

# --- Keys derived from SECRET_KEY (secretbox.derive_key; read by the server only) ------------

LABEL_NOTIFY_ITEMS = b"meldpunt/v1/notify-items"  # `meldpunt notify`: the digest of the items announced
LABEL_HISTORY_HEAD = b"meldpunt/v1/history-head"  # the Ed25519 key that signs head files (app/domain/chain.py)
LABEL_LIMIT_KEYS = b"meldpunt/v1/limit-keys"  # the rate limits: the key that makes each day's key (app/web/limits.py)
LABEL_FORM_TOKENS = b"meldpunt/v1/form-tokens"  # the report form's signed tokens (app/web/anonymous.py)
LABEL_NEWS_STOP = b"meldpunt/v1/news-stop"  # the key of the news mail's stop-link hashes (app/domain/news.py)
