"""Known answers for export bundles and collections (tests/vectors/bundle/, docs/format.md).

Made once by tests/vectors/make_bundle_vectors.py and committed: if a change to `crypto/`
makes one of them fail, the change broke the bundle format or what `open` writes.
"""

import hashlib
import json

import pytest

from crypto import PrivateKey, errors
from crypto.unpack import unpack

from .conftest import VECTORS

FOLDER = VECTORS / "bundle"
CASES = json.loads((FOLDER / "vectors.json").read_text())


def test_the_vectors_cover_the_rules():
    names = {case["file"] for case in CASES}
    for expected in [
        "version-true.zip",
        "version-float.zip",
        "item-five-digits.zip",
        "items-out-of-order.zip",
        "ok-unknown-state.zip",
        "bad-reference.zip",
        "iso-week-day.zip",
        "member-named-twice.zip",
        "collection-ok.zip",
        "collection-stray-member.zip",
        "overlapping-members.zip",
        "member-before-start.zip",
        "parent-not-text.zip",
        "collection-member-outside.zip",
        "collection-bundle-overlapping.zip",
        "nothing-opened.zip",
        "collection-nothing-opened.zip",
    ]:
        assert expected in names


@pytest.mark.parametrize("case", CASES, ids=[case["file"] for case in CASES])
def test_bundle_vector(case, tmp_path):
    key = PrivateKey(bytes.fromhex(case["secret_key"]))
    out = tmp_path / "out"
    if case["expect"] != "ok":
        with pytest.raises(errors.CryptoError) as raised:
            unpack(FOLDER / case["file"], key, out)
        assert type(raised.value).__name__ == case["expect"]  # the class itself, not a relative
        assert not out.exists()
        return
    opened = unpack(FOLDER / case["file"], key, out)
    assert {failure.where: type(failure.error).__name__ for failure in opened.failures} == case.get("failures", {})
    written = {path.relative_to(out).as_posix(): path for path in out.rglob("*") if path.is_file()}
    assert sorted(written) == sorted(case["files"])
    for name, digest in case["files"].items():
        if digest is not None:
            assert hashlib.sha256(written[name].read_bytes()).hexdigest() == digest, name
    assert sorted(opened.reports) == sorted(path for name, path in written.items() if name.endswith("report.md"))
    if "report_md" in case:
        assert (out / "report.md").read_text() == (FOLDER / case["report_md"]).read_text()
