"""The examples in docs/format.md are computed, not typed: check them against the code."""

import re
from pathlib import Path

from crypto import PublicKey

from .conftest import VECTORS

FORMAT = (Path(__file__).parent.parent / "docs" / "format.md").read_text()


def test_public_key_example():
    line, raw = re.search(r"Example: `(mpk1[a-z2-7]+)` is the public key\s+`([0-9a-f]{64})`", FORMAT).groups()
    key = PublicKey.parse(line)
    assert key.raw.hex() == raw
    fingerprint = re.search(r"for instance `([0-9A-F ]{24})` for the example key above", FORMAT).group(1)
    assert key.fingerprint == fingerprint


def test_worked_example_matches_the_vector_file():
    data = (VECTORS / "envelope" / "ok-short-text.mpe").read_bytes()
    example = FORMAT[FORMAT.index("### Worked example") : FORMAT.index("### Test vectors")]
    assert f"`tests/vectors/envelope/ok-short-text.mpe`, {len(data):,} bytes" in example
    fields = re.findall(r"^([0-9a-f]{2,})(?:…([0-9a-f]+))?\s{2,}", example, flags=re.MULTILINE)
    offset = 0
    for head, tail in fields:
        assert data[offset : offset + len(head) // 2].hex() == head
        offset += len(head) // 2
        if tail:  # an elided field: its last bytes are shown
            offset = data.index(bytes.fromhex(tail), offset) + len(tail) // 2
    assert offset == 172  # the whole header was walked


def test_every_error_class_named_in_the_reading_rules_exists():
    import crypto.errors

    reading = FORMAT[FORMAT.index("### Reading") : FORMAT.index("### Versions")]
    for name in set(re.findall(r"`([A-Z][A-Za-z]+)`", reading)):
        assert issubclass(getattr(crypto.errors, name), crypto.errors.CryptoError), name
