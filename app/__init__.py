"""The Meldpunt portal. Three layers, arrows pointing down only (docs/architecture.md):

    blueprints  reporter/, team/, audit/   one per user group; import nothing from each other
    web/        plumbing the blueprints share (Flask-bound)
    domain/     what a report is and what may happen to it (no Flask)

`create_app` is wiring only: settings, extensions, headers, blueprints.
"""

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict | None = None) -> "Flask":
    # Imported here, not at the top: `import app.domain` runs this file first, and the domain
    # must import on a machine without Flask (tests/test_layers.py).
    from flask import Flask

    from .domain.settings import ROOT, Settings, check_secret
    from .web import context, errors, headers, i18n, limits, sessions, static_files, uploads, urls
    from .web.csrf import csrf

    folder = Path(test_config["INSTANCE"]) if test_config and "INSTANCE" in test_config else None
    settings = Settings.load(folder, test_config)
    team_key = settings.team_key  # refuses to start without one, saying how to set it
    check_secret(settings)
    # Every value now, not on the first page, purge or mail that uses it: a wrong one stops the
    # start with a sentence naming it (as `meldpunt check` does), never a 500 later.
    settings.validate()
    settings.derivations  # noqa: B018  (likewise a derivation cap that could never admit one)

    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.update(settings)
    app.config["TEAM_KEY"] = team_key
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + 8 * settings.max_text_chars + 1024 * 1024
    app.config["MAX_FORM_MEMORY_SIZE"] = 4 * settings.max_text_chars + 1024
    app.config["WTF_CSRF_TIME_LIMIT"] = 4 * 3600  # long enough to write a careful report

    context.init_app(app, settings)
    sessions.init_app(app)  # after the database connection: it checks the session's row
    csrf.init_app(app)
    i18n.init_app(app)
    limits.init_app(app)
    headers.init_app(app)
    static_files.init_app(app)
    errors.init_app(app)
    urls.init_app(app)  # before the blueprints: their <int:…> rules take its bounded converter
    uploads.init_app(app)  # after csrf: its body limit must run before the CSRF check reads the form

    from .audit import bp as audit
    from .reporter import bp as reporter
    from .team import bp as team

    for blueprint in (reporter, team, audit):
        app.register_blueprint(blueprint)
    return app
