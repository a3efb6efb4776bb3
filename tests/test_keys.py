import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import InvalidPublicKey, PrivateKey, PublicKey
from crypto.keys import parse_recipients

ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def test_public_key_line_round_trips(team_key):
    line = str(team_key.public)
    assert re.fullmatch(r"mpk1[a-z2-7]{58}", line)
    assert PublicKey.parse(line) == team_key.public
    assert PublicKey.parse(f"  {line.upper()}\n") == team_key.public


@given(position=st.integers(min_value=4, max_value=61), replacement=st.sampled_from(ALPHABET))
def test_any_single_typo_is_caught(team_key, position, replacement):
    line = str(team_key.public)
    typo = line[:position] + replacement + line[position + 1 :]
    if typo == line:
        return
    with pytest.raises(InvalidPublicKey):
        PublicKey.parse(typo)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda line: line[:-1],
        lambda line: line + "a",
        lambda line: "age1" + line[4:],
        lambda line: line[4:],
        lambda line: line[:10] + "!" + line[11:],
        lambda line: "",
    ],
    ids=["short", "long", "prefix", "no-prefix", "bad-character", "empty"],
)
def test_malformed_lines_are_refused(team_key, mangle):
    with pytest.raises(InvalidPublicKey):
        PublicKey.parse(mangle(str(team_key.public)))


def test_fingerprint_is_short_stable_and_distinct(team_key, other_key):
    fingerprint = team_key.public.fingerprint
    assert re.fullmatch(r"([0-9A-F]{4} ){4}[0-9A-F]{4}", fingerprint)
    assert fingerprint == PublicKey.parse(str(team_key.public)).fingerprint
    assert fingerprint != other_key.public.fingerprint


def test_secrets_never_print(team_key):
    secret_hex = team_key.secret_bytes().hex()
    for shown in (repr(team_key), str(team_key), f"{team_key}"):
        assert secret_hex not in shown
        assert team_key.public.fingerprint in shown


def test_known_public_key_from_secret():
    # RFC 7748 section 6.1: Alice's X25519 key pair.
    secret = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    expected = bytes.fromhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    assert PrivateKey(secret).public.raw == expected


def test_recipient_list_refuses_duplicates(team_key):
    with pytest.raises(InvalidPublicKey):
        parse_recipients([str(team_key.public), str(team_key.public).upper()])
