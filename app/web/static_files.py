"""Static files, and the browser bundle precompressed and cached for good.

`make bundle` writes `meldpunt.js` with a gzip and a brotli copy beside it
(deploy/precompress.mjs). Pages link the bundle with its version in the address (`?v=`, from its
SHA-256), so a browser may keep it forever (`immutable`) and a new release is a new address. The
SRI hash is the uncompressed bundle's: browsers check what they decoded. Behind nginx the bundle
is served from disk with gzip_static (deploy/nginx/portal.conf); this is the same for `make run`
and any setup without it.
"""

from pathlib import Path

from flask import Flask, current_app, request, send_from_directory

from ..domain.bundle import BUNDLE, ENCODINGS, bundle_hashes, copies_current

FOREVER = 365 * 24 * 3600


def init_app(app: Flask) -> None:
    folder = Path(app.static_folder)
    integrity, version = bundle_hashes(folder)
    app.config["SCRIPT_INTEGRITY"] = integrity
    app.config["SCRIPT_VERSION"] = version
    app.config["BUNDLE_COPIES"] = copies_current(folder)
    if integrity and not app.config["BUNDLE_COPIES"]:
        app.logger.warning("the bundle's compressed copies are missing or older than it: run `make bundle`")
    app.view_functions["static"] = serve


def serve(filename: str):
    folder = current_app.static_folder
    if filename != BUNDLE:
        return send_from_directory(folder, filename)
    chosen = next(
        (
            (encoding, suffix)
            for encoding, suffix in ENCODINGS
            if current_app.config["BUNDLE_COPIES"] and request.accept_encodings[encoding]
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
        response.cache_control.no_cache = None  # send_from_directory's default: revalidate each time
        response.cache_control.public = True
        response.cache_control.max_age = FOREVER
        response.cache_control.immutable = True
    return response
