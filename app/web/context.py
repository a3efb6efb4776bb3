"""The app's `Settings` and a database connection for each request."""

from flask import Flask, current_app

from ..domain.db import bind, database
from ..domain.settings import Settings

EXTENSION = "meldpunt.settings"


def init_app(app: Flask, loaded: Settings) -> None:
    app.extensions[EXTENSION] = loaded
    bind(loaded["DATABASE_URL"])

    @app.before_request
    def _connect() -> None:
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc: BaseException | None) -> None:
        if not database.is_closed():
            database.close()


def settings() -> Settings:
    """This app's settings, for the domain functions a view calls."""
    return current_app.extensions[EXTENSION]
