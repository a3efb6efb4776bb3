"""The docs against the code: docs/format.md's examples are computed, not typed, and
docs/architecture.md describes every module that exists and none that does not."""

import re
from pathlib import Path

import pytest

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


ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
ARCHITECTURE = (DOCS / "architecture.md").read_text()
# A module path as docs write it: app/… or crypto/… ending in .py, not inside a longer path.
MODULE_PATH = re.compile(r"(?<![\w/.-])((?:app|crypto)/[\w/]*\.py)\b")


def _modules() -> list[str]:
    return sorted(
        path.relative_to(ROOT).as_posix()
        for package in ("app", "crypto")
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    )


@pytest.mark.parametrize("module", _modules())
def test_every_module_has_a_row_in_the_architecture_table(module):
    assert f"`{module}`" in ARCHITECTURE, f"docs/architecture.md does not describe {module}"


@pytest.mark.parametrize("doc", sorted(DOCS.glob("*.md")), ids=lambda path: path.name)
def test_docs_name_only_modules_that_exist(doc):
    """A row or a sentence about a module that was moved or removed fails too."""
    stale = sorted({path for path in MODULE_PATH.findall(doc.read_text()) if not (ROOT / path).is_file()})
    assert not stale, f"docs/{doc.name} names modules that do not exist: {', '.join(stale)}"
