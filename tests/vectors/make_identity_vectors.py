"""Make the reporter identity known-answer vectors in identity/vectors.json:

    .venv/bin/python tests/vectors/make_identity_vectors.py

Every value is computed here by crypto.passphrase (docs/format.md, "Reporter identity"); the Python
and the browser tests only read the file, so both implementations answer the same questions. Unlike
the envelope vectors nothing is random: rerunning rewrites the file with the same bytes unless the
derivation changed, and then the diff shows what a change to `crypto/` did to the format.
"""

import hashlib
import json
from pathlib import Path

from crypto import InvalidPassphrase, primitives, spec
from crypto import passphrase as pp
from crypto.kdf import argon2id

OUT = Path(__file__).parent / "identity" / "vectors.json"

# Fixed salts so anyone can recompute the answers; never an installation's salt.
SALT_A = bytes(range(16))
SALT_B = bytes.fromhex("ffeeddccbbaa99887766554433221100")
SALT_C = b"meldpunt vectors"
SALT_D = bytes(16)

# (name, salt, typed). "capitals" types the words of "lower-case" differently under the same
# salt, so its answers must be the same bytes.
DERIVE = [
    ("lower-case", SALT_A, "abacus zoom gravity bless fifteen chess wobble"),
    ("capitals", SALT_A, "Abacus ZOOM GrAvItY bLESS FIFTEEN Chess wobblE"),
    ("hyphens", SALT_B, "albatross-cassette-fiddle-boss-yonder-umbrella-quilt"),
    (
        "dashes",
        SALT_C,
        "Juggle\u2013Kettle \u2014 Lantern\u2010mammal\u2011napkin\u2212OCTOPUS\u2015paddle",
    ),
    ("underscores-and-punctuation", SALT_D, "radar_sadness.tadpole,unclog;vacancy:walrus/yodel"),
    (
        "spaces-everywhere",
        SALT_B,
        " -- \tbadge   cabbage\n\ndaffodil\u00a0eagle\u3000fabric\u2028gallon\u202fhabitat\x85 _.",
    ),
    (
        "full-width-and-ligatures",
        SALT_C,
        "\uff21\uff22\uff21\uff23\uff35\uff33 \ufb01fteen\uff0dzoom igloo jam kangaroo ladder",
    ),
    ("sharp-s", SALT_D, "BLE\u00df che\u1e9e albatro\u00df care\u00df Bo\u00df amiss actre\u00df"),
]

# (name, typed): what parse() must answer for input that is not a passphrase.
PARSE_ERRORS = [
    ("empty", ""),
    ("only-separators", " - _ . "),
    ("six-words", "abacus zoom gravity bless fifteen chess"),
    ("eight-words", "abacus zoom gravity bless fifteen chess wobble abacus"),
    # The four hyphenated EFF words are not in the list: typed, they are two words.
    ("hyphenated-eff-word", "t-shirt abacus zoom gravity bless fifteen"),
    ("unknown-fourth", "abacus zoom gravity blessing1 fifteen chess wobble"),
    ("unknown-first-and-last", "abacuss zoom gravity bless fifteen chess w0bble"),
    ("unknown-accented", "abacus zoom CAF\u00c9 bless na\u00efve chess stra\u00dfe"),
    ("words-run-together", "abacuszoom gravity bless fifteen chess wobble abacus"),
    ("all-unknown", "aaa bbb ccc ddd eee fff ggg"),
    ("count-before-unknown", "xx yy zz gravity bless fifteen chess wobble"),
]


def parse_answer(typed: str) -> dict:
    """parse() as the browser's identity.parse() reports it: what the vectors hold, and what the
    tests compare both sides with (tests/test_identity_vectors.py imports it from here)."""
    try:
        return {"ok": True, "words": pp.parse(typed).reveal()}
    except InvalidPassphrase as error:
        if error.unknown:
            return {"ok": False, "unknown": list(error.unknown)}
        return {"ok": False, "count": error.words}


def derive_case(name: str, salt: bytes, typed: str) -> dict:
    phrase = pp.parse(typed)
    normalised = phrase.reveal()
    master = argon2id(normalised.encode("utf-8"), salt, spec.REPORTER_KDF)
    identity = pp.derive(phrase, salt)
    # derive() keeps the master secret to itself; check that it is the one written down here.
    assert identity.lookup_token == primitives.keyed_hash(master, spec.LABEL_LOOKUP_TOKEN)
    assert identity.key.secret_bytes() == primitives.keyed_hash(master, spec.LABEL_REPORTER_KEY)
    return {
        "name": name,
        "typed": typed,
        "normalised": normalised,
        "salt": salt.hex(),
        "master": master.hex(),
        "lookup_token": identity.lookup_token.hex(),
        "lookup_hash": pp.lookup_hash(identity.lookup_token).hex(),
        "secret": identity.key.secret_bytes().hex(),
        "public": identity.key.public.raw.hex(),
    }


def main() -> None:
    words = pp.wordlist()
    vectors = {
        "kdf": {
            "algorithm": "argon2id",
            "memory_kib": spec.REPORTER_KDF.memory_kib,
            "time": spec.REPORTER_KDF.time,
            "lanes": spec.REPORTER_KDF.lanes,
            "size": 32,
        },
        "wordlist": {
            "count": len(words),
            "first": words[0],
            "last": words[-1],
            "sha256_of_lines": hashlib.sha256("\n".join(words).encode()).hexdigest(),
        },
        "derive": [derive_case(*case) for case in DERIVE],
        "parse": [{"name": name, "typed": typed, "expect": parse_answer(typed)} for name, typed in PARSE_ERRORS],
    }
    for case in vectors["parse"]:
        assert not case["expect"]["ok"], case["name"]
    OUT.parent.mkdir(exist_ok=True)
    # ASCII escapes, so the invisible separators (no-break space, U+3000, U+2028) show in a review.
    OUT.write_text(json.dumps(vectors, indent=1, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
