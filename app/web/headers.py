"""Response headers for every page, and quiet logs: nothing that identifies a visitor is written."""

import logging
from urllib.parse import quote

from flask import Flask, g, request

CSP = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
# Pages that encrypt in the browser load one same-origin script (with an integrity hash) and need
# WebAssembly for libsodium; no other page may run script at all. No worker either: worker-src
# would fall back to script-src 'self', and a service worker outlives the page that started it
# (`meldpunt-team verify-site` requires 'none').
ENCRYPTING_CSP = CSP + "; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; worker-src 'none'"
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=(), browsing-topics=()"


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", ENCRYPTING_CSP if g.get("encrypting") else CSP)
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        headers["Permissions-Policy"] = PERMISSIONS
        if app.config["MELDPUNT_SECURE_COOKIES"]:
            headers["Strict-Transport-Security"] = "max-age=63072000"
        if request.endpoint != "static":
            # Reporter pages may show a passphrase or a decrypted thread: never cache anything.
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        onion = app.config.get("MELDPUNT_ONION_ADDRESS")
        if onion:
            headers["Onion-Location"] = onion_location(onion)
        return response

    quiet_logs()


# RFC 3986 characters a path segment (plus "/") and a query may hold as they are; everything else
# is percent-encoded, so the header is printable ASCII whatever the request's path decoded to.
PATH_SAFE = "/!$&'()*+,;=:@-._~"
QUERY_SAFE = PATH_SAFE + "?%"


def onion_location(onion: str) -> str:
    """The same page on the onion address. The path is Werkzeug's decoded one, so a request for
    `/%E2%82%AC` or `/%0D%0A` holds a euro sign or a line break here: encoded again, never sent
    raw (a line break cannot be in a header, a euro sign is not Latin-1; either was a 500)."""
    location = onion.rstrip("/") + quote(request.path, safe=PATH_SAFE)
    query = request.query_string  # the bytes as sent, percent-encodings kept as they are
    return location + "?" + quote(query, safe=QUERY_SAFE) if query else location


def quiet_logs() -> None:
    """Werkzeug logs each request with the client address; flask-limiter logs the limit key
    (an address). Neither may reach a log file."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("flask-limiter").disabled = True
    logging.getLogger("flask_limiter").disabled = True
