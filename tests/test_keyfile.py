import base64
import stat

import pytest

from crypto import InvalidKeyFile, KeyFileExists, UnsupportedVersion, WeakPassphrase, WrongPassphrase, primitives, spec
from crypto.keyfile import TeamKey, decode_key_file, encode_key_file

from .conftest import TEAM_PASSPHRASE


def test_saved_key_loads_with_its_passphrase(key_dir, team_file_key):
    assert str(team_file_key.public) == (key_dir / "public").read_text().strip()


def test_key_file_is_private_armored_text(key_dir):
    path = key_dir / "team.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert lines[0] == "-----BEGIN MELDPUNT TEAM KEY-----"
    assert lines[-1] == "-----END MELDPUNT TEAM KEY-----"
    assert all(len(line) <= 64 for line in lines[1:-1])


def test_key_file_records_costly_argon2id(key_dir):
    blob = base64.b64decode("".join((key_dir / "team.key").read_text().splitlines()[1:-1]))
    version, kdf, memory_kib, time, lanes = (
        blob[0],
        blob[1],
        int.from_bytes(blob[2:6], "big"),
        int.from_bytes(blob[6:10], "big"),
        blob[10],
    )
    assert (version, kdf) == (1, 1)
    assert memory_kib >= 256 * 1024
    assert time >= 3
    assert lanes == 1
    assert (memory_kib, time) == (spec.KEY_FILE_KDF.memory_kib, spec.KEY_FILE_KDF.time)


def test_existing_key_file_is_never_overwritten(key_dir, team_file_key):
    before = (key_dir / "team.key").read_bytes()
    with pytest.raises(KeyFileExists):
        TeamKey.generate().save(key_dir / "team.key", TEAM_PASSPHRASE)
    assert (key_dir / "team.key").read_bytes() == before


def test_wrong_passphrase(key_dir):
    with pytest.raises(WrongPassphrase):
        TeamKey.load(key_dir / "team.key", TEAM_PASSPHRASE + "!")


def test_passphrase_is_unicode_normalised(tmp_path):
    composed, decomposed = "caf\u00e9 au lait, zonder suiker", "cafe\u0301 au lait, zonder suiker"
    text = encode_key_file(TeamKey.generate(), composed)
    decode_key_file(text, decomposed)  # no WrongPassphrase


def _blob(key_dir) -> bytearray:
    return bytearray(base64.b64decode("".join((key_dir / "team.key").read_text().splitlines()[1:-1])))


def _armor(blob: bytes) -> str:
    return (
        "-----BEGIN MELDPUNT TEAM KEY-----\n"
        + base64.b64encode(bytes(blob)).decode()
        + "\n-----END MELDPUNT TEAM KEY-----\n"
    )


@pytest.mark.parametrize("offset", [2, 12, 30, 60, 100])
def test_damaged_key_file_is_not_a_wrong_passphrase(key_dir, offset):
    blob = _blob(key_dir)
    blob[offset] ^= 0x01
    with pytest.raises(InvalidKeyFile):
        decode_key_file(_armor(blob), TEAM_PASSPHRASE)


def test_future_key_file_version(key_dir):
    blob = _blob(key_dir)
    blob[0] = 2
    with pytest.raises(InvalidKeyFile):  # the checksum covers the version byte: damage, not the future
        decode_key_file(_armor(blob), TEAM_PASSPHRASE)
    blob[-4:] = primitives.plain_hash(bytes(blob[:-4]), 4)
    with pytest.raises(UnsupportedVersion):
        decode_key_file(_armor(blob), TEAM_PASSPHRASE)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "-----BEGIN MELDPUNT TEAM KEY-----\n!!!\n-----END MELDPUNT TEAM KEY-----\n",
        "-----BEGIN MELDPUNT TEAM KEY-----\nAAAA\n-----END MELDPUNT TEAM KEY-----\n",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nAAAA\n-----END PGP PRIVATE KEY BLOCK-----\n",
    ],
)
def test_not_a_key_file(text):
    with pytest.raises(InvalidKeyFile):
        decode_key_file(text, TEAM_PASSPHRASE)


def test_short_passphrases_are_refused(tmp_path):
    with pytest.raises(WeakPassphrase):
        TeamKey.generate().save(tmp_path / "k", "short")
    assert not (tmp_path / "k").exists()


def test_cheaper_kdf_than_the_minimum_is_refused():
    with pytest.raises(ValueError):
        encode_key_file(TeamKey.generate(), TEAM_PASSPHRASE, spec.Argon2Params(64 * 1024, 3))
