"""Static files, and the browser bundle precompressed and cached for good.

`make bundle` writes `meldpunt.js` with a gzip and a brotli copy beside it
(deploy/precompress.mjs). Pages link the bundle with its version in the address (`?v=`, from its
SHA-256), so a browser may keep it forever (`immutable`) and a new release is a new address. The
SRI hash is the uncompressed bundle's: browsers check what they decoded. Behind nginx the bundle
is served from disk with gzip_static (deploy/nginx/portal.conf); this is the same for `make run`
and any setup without it.
"""

import base64
import hashlib
from pathlib import Path

from flask import Flask, current_app, request, send_from_directory

BUNDLE = "vendor/meldpunt.js"
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))  # preferred first
FOREVER = 365 * 24 * 3600


def init_app(app: Flask) -> None:
    integrity, version = bundle_hashes(Path(app.static_folder))
    app.config["SCRIPT_INTEGRITY"] = integrity
    app.config["SCRIPT_VERSION"] = version
    app.view_functions["static"] = serve


def bundle_hashes(static_folder: Path) -> tuple[str | None, str | None]:
    """The bundle's SRI hash and its version, or None for both when it was not built (no npm):
    then every page works on the server-side path alone."""
    path = static_folder / BUNDLE
    if not path.exists():
        return None, None
    data = path.read_bytes()
    integrity = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
    return integrity, hashlib.sha256(data).hexdigest()[:16]


def serve(filename: str):
    folder = current_app.static_folder
    if filename != BUNDLE:
        return send_from_directory(folder, filename)
    chosen = next(
        (
            (encoding, suffix)
            for encoding, suffix in ENCODINGS
            if request.accept_encodings[encoding] and (Path(folder) / (BUNDLE + suffix)).is_file()
        ),
        None,
    )
    if chosen is None:
        response = send_from_directory(folder, BUNDLE)
    else:
        response = send_from_directory(folder, BUNDLE + chosen[1], mimetype="text/javascript")
        response.headers["Content-Encoding"] = chosen[0]
    response.vary.add("Accept-Encoding")
    if request.args.get("v") == current_app.config["SCRIPT_VERSION"]:
        response.cache_control.public = True
        response.cache_control.max_age = FOREVER
        response.cache_control.immutable = True
    return response
