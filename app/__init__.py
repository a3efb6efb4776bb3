"""The Meldpunt portal: `create_app` wires configuration, storage, security and blueprints."""

from pathlib import Path

from flask import Flask
from flask_wtf import CSRFProtect

from . import config, db, errors, i18n, limits, security
from .sessions import EncryptedSessionInterface
from .uploads import MeldpuntRequest

csrf = CSRFProtect()


def create_app(test_config: dict | None = None) -> Flask:
    folder = Path(test_config.get("INSTANCE", config.instance_path())) if test_config else config.instance_path()
    settings = config.load(folder, test_config)
    team_key = config.team_key(settings)  # refuses to start without one, saying how to set it
    config.check_secret(settings)

    app = Flask(
        __name__,
        instance_path=str(folder),
        template_folder=str(config.ROOT / "templates"),
        static_folder=str(config.ROOT / "static"),
    )
    app.config.update(settings)
    app.config["TEAM_KEY"] = team_key
    app.config["MAX_CONTENT_LENGTH"] = (
        settings["MELDPUNT_MAX_UPLOAD_BYTES"] + 8 * settings["MELDPUNT_MAX_TEXT_CHARS"] + 1024 * 1024
    )
    app.config["MAX_FORM_MEMORY_SIZE"] = 4 * settings["MELDPUNT_MAX_TEXT_CHARS"] + 1024
    app.config["WTF_CSRF_TIME_LIMIT"] = 4 * 3600  # long enough to write a careful report
    app.request_class = MeldpuntRequest
    app.session_interface = EncryptedSessionInterface()

    db.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app)
    limits.init_app(app)
    security.init_app(app)
    errors.init_app(app)

    from .reporter import bp as reporter
    from .team import bp as team

    app.register_blueprint(reporter)
    app.register_blueprint(team)
    return app
