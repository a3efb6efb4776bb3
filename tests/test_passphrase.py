import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import InvalidPassphrase
from crypto import passphrase as pp
from crypto.spec import Argon2Params

SALT = bytes(range(16))
FAST = Argon2Params(memory_kib=8 * 1024, time=1)


def test_word_list_is_the_eff_large_list():
    words = pp.wordlist()
    assert len(words) == 7772  # 7776 less the four hyphenated words
    assert words[0] == "abacus"
    assert words[-1] == "zoom"
    assert "yo-yo" not in words


def test_generated_passphrases_have_seven_listed_words_and_90_bits():
    assert pp.entropy_bits() >= 90
    seen = set()
    for _ in range(50):
        phrase = pp.generate()
        words = phrase.reveal().split(" ")
        assert len(words) == 7
        assert all(word in pp.wordlist() for word in words)
        seen.add(phrase.reveal())
    assert len(seen) == 50


@pytest.mark.parametrize(
    "typed",
    [
        "Abacus Zoom abacus zoom abacus zoom abacus",
        "  abacus   zoom\tabacus zoom abacus zoom abacus  ",
        "abacus-zoom-abacus-zoom-abacus-zoom-abacus",
        "ABACUS—ZOOM–ABACUS zoom_abacus.zoom, abacus",
        "ａｂａｃｕｓ zoom abacus zoom abacus zoom abacus",
    ],
    ids=["case", "spaces", "hyphens", "dashes", "fullwidth"],
)
def test_normalisation(typed):
    assert pp.parse(typed).reveal() == "abacus zoom abacus zoom abacus zoom abacus"


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("", "has 7 words"),
        ("abacus zoom", "has 7 words"),
        ("abacus zoom abacus zoom abacus zoom abacus zoom", "has 7 words"),
        ("abacus zoom abacus zooom abacus zoom abacus", "Word 4"),
    ],
)
def test_invalid_passphrases(typed, problem):
    with pytest.raises(InvalidPassphrase, match=problem):
        pp.parse(typed)


def test_passphrase_never_prints():
    phrase = pp.generate()
    assert phrase.reveal() not in repr(phrase)
    assert phrase.reveal() not in str(phrase)
    assert phrase.reveal().split(" ")[0] not in f"{phrase!r}{phrase!s}"


def test_derivation_is_deterministic_and_salted():
    phrase = pp.parse("abacus zoom abacus zoom abacus zoom abacus")
    first, again = pp.derive(phrase, SALT, FAST), pp.derive(phrase, SALT, FAST)
    assert first.lookup_token == again.lookup_token
    assert first.key.public == again.key.public
    other_salt = pp.derive(phrase, bytes(16), FAST)
    assert other_salt.lookup_token != first.lookup_token
    assert other_salt.key.public != first.key.public
    assert first.lookup_token != first.key.secret_bytes()
    assert repr(first).count(first.lookup_token.hex()) == 0


def test_derivation_known_answer():
    # Pinned output of the documented derivation (docs/format.md, "Reporter identity") with the
    # default parameters; a change here locks every reporter out of their mailbox.
    identity = pp.derive(pp.parse("abacus zoom abacus zoom abacus zoom abacus"), SALT)
    assert identity.lookup_token.hex() == KNOWN_TOKEN
    assert str(identity.key.public) == KNOWN_PUBLIC


def test_derivation_follows_the_spec_with_independent_code():
    # The recipe of docs/format.md written again with PyNaCl's argon2id and hashlib's BLAKE2b.
    import nacl.pwhash

    master = nacl.pwhash.argon2id.kdf(32, b"abacus zoom abacus zoom abacus zoom abacus", SALT, 3, 64 * 1024 * 1024)
    token = hashlib.blake2b(b"meldpunt/v1/lookup-token", key=master, digest_size=32).digest()
    secret = hashlib.blake2b(b"meldpunt/v1/reporter-key", key=master, digest_size=32).digest()
    identity = pp.derive(pp.parse("abacus zoom abacus zoom abacus zoom abacus"), SALT)
    assert identity.lookup_token == token
    assert identity.key.secret_bytes() == secret


def test_derivation_uses_the_documented_parameters():
    assert (pp.spec.REPORTER_KDF.memory_kib, pp.spec.REPORTER_KDF.time) == (64 * 1024, 3)


@given(st.text(max_size=80))
def test_parse_only_raises_its_own_error(text):
    try:
        phrase = pp.parse(text)
    except InvalidPassphrase:
        return
    assert pp.parse(phrase.reveal()) == phrase


def test_short_installation_salt_is_refused():
    with pytest.raises(ValueError):
        pp.derive(pp.generate(), b"short", FAST)


KNOWN_TOKEN = "fc3df8a981070ac95115e3f8150d169e1b2104fa2ea6ae30860f982a31614e2e"
KNOWN_PUBLIC = "mpk1v4dkxuedcj7zgenxdjge7wnjn5ewfqtpzo57nvokr44vo646xi4ltcvbvm"
