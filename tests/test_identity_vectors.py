"""Reporter identity known answers (tests/vectors/identity) and the normalisation rules, in Python.

tests/test_identity_browser.py asks the browser the same questions; the helpers here that both use
(the vectors, Python's answer for parse(), the probes over every code point) carry no test_ prefix.
"""

import functools
import json
import re
import unicodedata

import nacl.pwhash
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import InvalidPassphrase, primitives, spec
from crypto import passphrase as pp
from crypto.kdf import argon2id

from .conftest import VECTORS
from .vectors.make_identity_vectors import parse_answer  # the same answers the vectors hold

IDENTITY = json.loads((VECTORS / "identity" / "vectors.json").read_text())
DERIVE = IDENTITY["derive"]
PARSE = IDENTITY["parse"]

# The contract's separator set, written out from its definition rather than taken from the module.
CONTRACT_SEPARATORS = frozenset(
    [chr(c) for c in range(0x110000) if chr(c).isspace()] + list("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212_.,;:/")
)
# Separators as typed after NFKC: full-width forms, small forms, the ideographic space and a
# no-break space are among what people paste.
TYPED_SEPARATORS = sorted(CONTRACT_SEPARATORS) + ["\uff0d", "\uff3f", "\uff0e", "\uff0c", "\ufe58", "\ufe63", "\uff0f"]
CODE_POINTS = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


@functools.cache
def probes() -> tuple[str, ...]:
    """normalise("x" + c + "y") for every code point but the surrogates, in CODE_POINTS order.

    Letters on both sides show whether c separates, vanishes or becomes (part of) a word.
    """
    return tuple(pp.normalise(f"x{chr(c)}y") for c in CODE_POINTS)


@functools.cache
def vanishing() -> tuple[int, ...]:
    """The code points c for which normalise(c) is empty: those that are separators after NFKC."""
    return tuple(c for c in CODE_POINTS if pp.normalise(chr(c)) == "")


@pytest.mark.parametrize("case", DERIVE, ids=[case["name"] for case in DERIVE])
def test_derive_known_answers(case):
    salt = bytes.fromhex(case["salt"])
    assert pp.normalise(case["typed"]) == case["normalised"]
    phrase = pp.parse(case["typed"])
    assert phrase.reveal() == case["normalised"]
    identity = pp.derive(phrase, salt)
    assert identity.lookup_token.hex() == case["lookup_token"]
    assert pp.lookup_hash(identity.lookup_token).hex() == case["lookup_hash"]
    assert identity.key.secret_bytes().hex() == case["secret"]
    assert identity.key.public.raw.hex() == case["public"]
    # The master secret through a second argon2id (libsodium's, what the browser runs) too.
    master = bytes.fromhex(case["master"])
    secret = case["normalised"].encode()
    assert argon2id(secret, salt, spec.REPORTER_KDF) == master
    sodium_master = nacl.pwhash.argon2id.kdf(
        32, secret, salt, opslimit=spec.REPORTER_KDF.time, memlimit=spec.REPORTER_KDF.memory_kib * 1024
    )
    assert sodium_master == master
    assert primitives.keyed_hash(master, spec.LABEL_LOOKUP_TOKEN) == identity.lookup_token
    assert primitives.keyed_hash(master, spec.LABEL_REPORTER_KEY) == identity.key.secret_bytes()


def test_vectors_cover_what_they_claim():
    kinds = {frozenset(case["expect"]) - {"ok"} for case in PARSE}
    assert kinds == {frozenset({"count"}), frozenset({"unknown"})}
    typed = "".join(case["typed"] for case in DERIVE)
    for char in "A-\u2013\u2014_\u00a0\u3000\uff21\ufb01\u00df\u1e9e\t\n":
        assert char in typed, char
    by_name = {case["name"]: case for case in DERIVE}
    same = [by_name["lower-case"], by_name["capitals"]]
    assert same[0]["typed"] != same[1]["typed"]
    assert {k: v for k, v in same[0].items() if k not in ("name", "typed")} == {
        k: v for k, v in same[1].items() if k not in ("name", "typed")
    }
    assert IDENTITY["kdf"] == {"algorithm": "argon2id", "memory_kib": 65536, "time": 3, "lanes": 1, "size": 32}


@pytest.mark.parametrize("case", PARSE, ids=[case["name"] for case in PARSE])
def test_parse_known_answers(case):
    assert parse_answer(case["typed"]) == case["expect"]


def test_word_list_matches_the_vectors():
    import hashlib

    words = pp.wordlist()
    summary = IDENTITY["wordlist"]
    assert (len(words), words[0], words[-1]) == (summary["count"], summary["first"], summary["last"])
    assert hashlib.sha256("\n".join(words).encode()).hexdigest() == summary["sha256_of_lines"]


def test_separator_set_is_the_contracts():
    assert pp.SEPARATORS == CONTRACT_SEPARATORS
    # The class as written matches exactly that set, too, and is usable as is in JavaScript.
    pattern = re.compile(pp.SEPARATOR_CLASS)
    assert {chr(c) for c in range(0x110000) if pattern.fullmatch(chr(c))} == CONTRACT_SEPARATORS
    assert "\\s" not in pp.SEPARATOR_CLASS


def test_separators_over_every_code_point():
    """c separates two letters exactly when NFKC and case folding turn it into separators only."""

    def separator_only(c: int) -> bool:
        folded = unicodedata.normalize("NFKC", chr(c)).casefold()
        return bool(folded) and set(folded) <= CONTRACT_SEPARATORS

    separating = {c for c, out in zip(CODE_POINTS, probes(), strict=True) if out == "x y"}
    assert separating == {c for c in CODE_POINTS if separator_only(c)}
    assert set(vanishing()) == separating


@given(st.text())
def test_normalise_is_idempotent(text):
    once = pp.normalise(text)
    assert pp.normalise(once) == once
    assert once == once.strip()
    assert "  " not in once


# A word as someone might type it: any mix of capitals, or in full-width letters.
def _typed_word(word: str, draw) -> str:
    style = draw(st.sampled_from(["lower", "upper", "title", "mixed", "full-width"]))
    if style == "mixed":
        flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
        return "".join(c.upper() if flip else c for c, flip in zip(word, flips, strict=True))
    if style == "full-width":
        return "".join(chr(ord(c) - ord("a") + 0xFF41) for c in word)
    return {"lower": word, "upper": word.upper(), "title": word.title()}[style]


SEPARATOR_RUNS = st.text(alphabet=TYPED_SEPARATORS, min_size=1, max_size=4)


@st.composite
def typed_passphrases(draw, words=spec.PASSPHRASE_WORDS):
    """(words, typed): list words with random separators, case and leading or trailing separators."""
    chosen = draw(st.lists(st.sampled_from(pp.wordlist()), min_size=words, max_size=words))
    typed = draw(st.text(alphabet=TYPED_SEPARATORS, max_size=3))
    for i, word in enumerate(chosen):
        typed += (draw(SEPARATOR_RUNS) if i else "") + _typed_word(word, draw)
    return chosen, typed + draw(st.text(alphabet=TYPED_SEPARATORS, max_size=3))


@given(typed_passphrases())
def test_separators_and_case_never_change_the_words(example):
    words, typed = example
    assert pp.parse(typed).reveal() == " ".join(words)
    assert pp.parse(typed) == pp.parse(" ".join(words).upper())


@given(st.sampled_from([0, 1, 2, 6, 8, 12]).flatmap(typed_passphrases))
def test_count_error_says_how_many_words_were_typed(example):
    words, typed = example
    if len(words) == spec.PASSPHRASE_WORDS:
        return
    with pytest.raises(InvalidPassphrase) as caught:
        pp.parse(typed)
    assert caught.value.words == len(words)
    assert caught.value.unknown == ()


@given(st.text(alphabet=TYPED_SEPARATORS))
def test_separators_alone_are_no_words(typed):
    with pytest.raises(InvalidPassphrase) as caught:
        pp.parse(typed)
    assert caught.value.words == 0


def test_parse_round_trips_generate():
    for _ in range(200):
        phrase = pp.generate()
        assert pp.parse(phrase.reveal()) == phrase
        assert pp.parse(phrase.reveal().upper().replace(" ", " - ")) == phrase
