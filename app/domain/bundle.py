"""The browser bundle on disk: its integrity hash and version, and whether its compressed copies
were made from it. Files only, no web framework: `meldpunt check` asks too (app/cli.py)."""

import base64
import hashlib
from pathlib import Path

BUNDLE = "vendor/meldpunt.js"  # under static/
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))  # preferred first


def bundle_hashes(static_folder: Path) -> tuple[str | None, str | None]:
    """The bundle's SRI hash and its version, or None for both when it was not built (no npm):
    then every page works on the server-side path alone."""
    path = static_folder / BUNDLE
    if not path.exists():
        return None, None
    data = path.read_bytes()
    integrity = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
    return integrity, hashlib.sha256(data).hexdigest()[:16]


def copies_current(static_folder: Path) -> bool:
    """The gzip and brotli copies were made from this very bundle (deploy/precompress.mjs writes
    its SHA-256 last, beside them). Copies of an older bundle would go out under the new version's
    address and fail the integrity check in every browser for a year."""
    bundle = static_folder / BUNDLE
    made_from = static_folder / (BUNDLE + ".sha256")
    if not (bundle.is_file() and made_from.is_file()):
        return False
    current = made_from.read_text().strip() == hashlib.sha256(bundle.read_bytes()).hexdigest()
    return current and all((static_folder / (BUNDLE + suffix)).is_file() for _encoding, suffix in ENCODINGS)
