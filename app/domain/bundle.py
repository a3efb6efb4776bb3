"""The browser bundles on disk: their integrity hashes and versions, and whether their compressed
copies were made from them. Files only, no web framework: `meldpunt check` asks too (app/cli.py).

Two bundles (package.json, `build`): meldpunt.js for every page that encrypts, and
meldpunt-derive.js, with argon2id (libsodium's sumo build) and the word list, for the two pages
that make or derive a reporter's identity: the report form and the sign-in page."""

import base64
import hashlib
from pathlib import Path

BUNDLE = "vendor/meldpunt.js"  # under static/
DERIVE_BUNDLE = "vendor/meldpunt-derive.js"
BUNDLES = (BUNDLE, DERIVE_BUNDLE)
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))  # preferred first


def bundle_hashes(static_folder: Path, bundle: str = BUNDLE) -> tuple[str | None, str | None]:
    """A bundle's SRI hash and its version, or None for both when it was not built (no npm):
    then the pages that would load it work on the server-side path alone."""
    path = static_folder / bundle
    if not path.exists():
        return None, None
    data = path.read_bytes()
    integrity = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
    return integrity, hashlib.sha256(data).hexdigest()[:16]


def copies_current(static_folder: Path, bundle: str = BUNDLE) -> bool:
    """The gzip and brotli copies were made from this very bundle (deploy/precompress.mjs writes
    its SHA-256 last, beside them). Copies of an older bundle would go out under the new version's
    address and fail the integrity check in every browser for a year."""
    path = static_folder / bundle
    made_from = static_folder / (bundle + ".sha256")
    if not (path.is_file() and made_from.is_file()):
        return False
    current = made_from.read_text().strip() == hashlib.sha256(path.read_bytes()).hexdigest()
    return current and all((static_folder / (bundle + suffix)).is_file() for _encoding, suffix in ENCODINGS)


def published_sums(static_folder: Path) -> dict[str, str]:
    """Each built bundle's SHA-256, name -> hex, as deploy/precompress.mjs wrote it beside the
    bundle: the key page shows them, for reporters to compare with the README's and what
    `meldpunt-team verify-site` finds. Empty without a build."""
    return {
        path.name.removesuffix(".sha256"): path.read_text().strip()
        for path in sorted((static_folder / "vendor").glob("*.js.sha256"))
    }
