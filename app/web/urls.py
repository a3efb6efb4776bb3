"""The URLs the portal makes, and the numbers it accepts in them.

Absolute URLs (security.txt, an admin's enrolment link) come from `MELDPUNT_BASE_URL` only, never
from the request: the Host header is whatever the client sent, and a proxy that passes it through
(or a client talking to gunicorn directly) would otherwise put an attacker's address into
security.txt's Contact and Encryption lines or into an enrolment link. Links between the portal's
own pages stay relative.
Without a base URL, a production instance has no absolute URL at all: links are relative,
security.txt is not served, and `meldpunt check` fails (docs/deployment.md). Only a development
instance (`MELDPUNT_SECURE_COOKIES` false, as `make run` makes it, on localhost) still takes the
address the browser asked for, so that any port works there.

Numbers in paths are row ids and part numbers. SQLite stores 64-bit signed integers and raises
OverflowError for a larger one, so `<int:…>` stops there: a larger number is a 404 like any
unknown id, for every route, including the ones added later.
"""

from flask import Flask, request, url_for
from werkzeug.exceptions import BadHost
from werkzeug.routing import IntegerConverter

from .context import settings

MAX_ID = 2**63 - 1  # SQLite's INTEGER; no database holds a row with a larger id


class BoundedInt(IntegerConverter):
    """`<int:…>` within the 64-bit signed range, whatever `max` a route gives, and in ASCII digits
    only (`\\d` would take `٣` or `１` as 3 and 1: one number, two addresses)."""

    regex = r"[0-9]+"

    def __init__(self, map, *args, **kwargs):  # noqa: A002  (Werkzeug's own parameter name)
        super().__init__(map, *args, **kwargs)
        self.max = MAX_ID if self.max is None else min(self.max, MAX_ID)
        self.min = -MAX_ID - 1 if self.min is None else max(self.min, -MAX_ID - 1)


def init_app(app: Flask) -> None:
    """Before the blueprints are registered: their rules take the converter when they are added."""
    app.url_map.converters["int"] = BoundedInt
    bind = app.create_url_adapter

    def create_url_adapter(request):
        """A Host header that IDNA cannot encode ("a..b", a label over 63 characters) makes
        Werkzeug refuse to route the request. Flask then leaves the request without a URL adapter,
        and the 400 page, whose links need one, was a 500. The request keeps its 400; the adapter
        is bound to a placeholder host instead, which nothing uses: links are relative, and
        absolute URLs come from MELDPUNT_BASE_URL."""
        try:
            return bind(request)
        except BadHost as refused:
            if request is None:
                raise
            request.routing_exception = refused
            environ = {**request.environ, "HTTP_HOST": "invalid", "SERVER_NAME": "invalid"}
            return app.url_map.bind_to_environ(environ, subdomain=app.url_map.default_subdomain or "")

    app.create_url_adapter = create_url_adapter


def base_url() -> str | None:
    """The configured base URL without its trailing slash; in development without one, the
    address of this request; in production without one, None."""
    config = settings()
    configured = config.get("MELDPUNT_BASE_URL")
    if configured:
        return str(configured).rstrip("/")
    return None if config["MELDPUNT_SECURE_COOKIES"] else request.host_url.rstrip("/")


def external_url(endpoint: str, **values) -> str:
    """The endpoint's URL, absolute when there is a base URL; otherwise its path alone, which
    still works from the portal's own pages and names no host anyone could choose."""
    return (base_url() or "") + url_for(endpoint, **values)
