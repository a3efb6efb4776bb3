"""The app's `Settings`, and a database connection for the requests that use one.

A request connects when it first queries (peewee's autoconnect) and closes at its end: the home
page, the policy and the static files never open the database, which was about a third of their
time with SQLite's pragmas (bench/pages_bench.py)."""

from flask import Flask, current_app

from ..domain import schema
from ..domain.db import bind, database
from ..domain.errors import SchemaBehind
from ..domain.settings import Settings

EXTENSION = "meldpunt.settings"
SCHEMA_CHECKED = "meldpunt.schema-current"


def init_app(app: Flask, loaded: Settings) -> None:
    app.extensions[EXTENSION] = loaded
    bind(loaded["DATABASE_URL"])

    @app.before_request
    def _schema_current() -> None:
        # Code newer than its database would fail in odd places; say so once, plainly, instead.
        # Checked until it passes once per process (an upgrade needs a restart anyway).
        if not app.extensions.get(SCHEMA_CHECKED):
            if schema.pending():
                app.logger.error("the database schema is behind the code: run `meldpunt upgrade`")
                raise SchemaBehind()
            app.extensions[SCHEMA_CHECKED] = True

    @app.teardown_request
    def _close(exc: BaseException | None) -> None:
        if not database.is_closed():
            database.close()


def settings() -> Settings:
    """This app's settings, for the domain functions a view calls."""
    return current_app.extensions[EXTENSION]
