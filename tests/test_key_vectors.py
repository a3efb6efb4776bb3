"""Known answers for public key lines and team key files (tests/vectors/keys, docs/format.md)."""

import json

import pytest

from crypto import PublicKey, errors
from crypto.keyfile import TeamKey

from .conftest import VECTORS

KEYS = VECTORS / "keys"
_DOCUMENT = json.loads((KEYS / "vectors.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", _DOCUMENT["public_keys"], ids=[case["name"] for case in _DOCUMENT["public_keys"]])
def test_public_key_lines(case):
    if case["expect"] == "ok":
        assert PublicKey.parse(case["line"]).raw.hex() == _DOCUMENT["public_key_raw"]
    else:
        with pytest.raises(getattr(errors, case["expect"])):
            PublicKey.parse(case["line"])


_FILES = _DOCUMENT["key_files"]


@pytest.mark.parametrize("case", _FILES, ids=[f"{c['file']}-{c['expect']}-{i}" for i, c in enumerate(_FILES)])
def test_team_key_files(case):
    path = KEYS / case["file"]
    if case["expect"] == "ok":
        assert str(TeamKey.load(path, case["passphrase"]).public) == case["public_key"]
    else:
        error = getattr(errors, case["expect"])
        with pytest.raises(error) as caught:
            TeamKey.load(path, case["passphrase"])
        assert type(caught.value) is error


def test_every_key_file_is_listed():
    assert {path.name for path in KEYS.glob("*.key")} == {case["file"] for case in _FILES}
