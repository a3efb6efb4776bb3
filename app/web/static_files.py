"""Static files, and the browser bundles precompressed and cached for good.

`make bundle` writes `meldpunt.js` and `meldpunt-derive.js`, each with a gzip and a brotli copy
beside it (deploy/precompress.mjs). Pages link a bundle with its version in the address (`?v=`,
from its SHA-256), so a browser may keep it forever (`immutable`) and a new release is a new
address. The SRI hash is the uncompressed bundle's: browsers check what they decoded. Behind nginx
the bundles are served from disk with gzip_static (deploy/nginx/portal.conf); this is the same for
`make run` and any setup without it.
"""

from pathlib import Path

from flask import Flask, current_app, request, send_from_directory

from ..domain.bundle import BUNDLE, BUNDLES, DERIVE_BUNDLE, ENCODINGS, bundle_hashes, copies_current

FOREVER = 365 * 24 * 3600
# Which configuration names carry each bundle's integrity and version (templates/base.html).
CONFIG = {BUNDLE: "SCRIPT", DERIVE_BUNDLE: "DERIVE_SCRIPT"}


def init_app(app: Flask) -> None:
    folder = Path(app.static_folder)
    current = set()
    for bundle in BUNDLES:
        integrity, version = bundle_hashes(folder, bundle)
        app.config[f"{CONFIG[bundle]}_INTEGRITY"] = integrity
        app.config[f"{CONFIG[bundle]}_VERSION"] = version
        if copies_current(folder, bundle):
            current.add(bundle)
        elif integrity:
            app.logger.warning("the compressed copies of %s are missing or older than it: run `make bundle`", bundle)
    app.config["BUNDLE_COPIES"] = frozenset(current)  # the bundles whose copies may be sent
    app.view_functions["static"] = serve


def serve(filename: str):
    folder = current_app.static_folder
    if filename not in BUNDLES:
        return send_from_directory(folder, filename)
    copies = filename in (current_app.config["BUNDLE_COPIES"] or ())
    chosen = next(
        ((encoding, suffix) for encoding, suffix in ENCODINGS if copies and request.accept_encodings[encoding]),
        None,
    )
    if chosen is None:
        response = send_from_directory(folder, filename)
    else:
        response = send_from_directory(folder, filename + chosen[1], mimetype="text/javascript")
        response.headers["Content-Encoding"] = chosen[0]
    response.vary.add("Accept-Encoding")
    if request.args.get("v") == current_app.config[f"{CONFIG[filename]}_VERSION"]:
        response.cache_control.no_cache = None  # send_from_directory's default: revalidate each time
        response.cache_control.public = True
        response.cache_control.max_age = FOREVER
        response.cache_control.immutable = True
    return response
