"""Dutch and English. The visitor's choice is a cookie in their own browser; Accept-Language
picks the default and is never stored or logged."""

import datetime

from flask import Flask, request
from flask_babel import Babel, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

LANGUAGES = ("nl", "en")
COOKIE = "mp_lang"

babel = Babel()


def select_locale() -> str:
    chosen = request.args.get("lang") or request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")

    @app.after_request
    def _remember(response):
        chosen = request.args.get("lang")
        if chosen in LANGUAGES:
            response.set_cookie(
                COOKIE, chosen, httponly=True, samesite="Strict", secure=app.config["MELDPUNT_SECURE_COOKIES"]
            )
        return response

    @app.context_processor
    def _languages():
        return {"languages": LANGUAGES, "current_language": select_locale, "state_label": state_label}

    @app.template_filter("day")
    def _day(value: datetime.date | None) -> str:
        return format_date(value, "long") if value else _("not yet")


STATE_LABELS = {
    "received": _l("Received"),
    "triage": _l("Being assessed"),
    "confirmed": _l("Confirmed"),
    "fix_planned": _l("Fix planned"),
    "fixed": _l("Fixed"),
    "disclosed": _l("Disclosed"),
    "rejected": _l("Not a vulnerability"),
}


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))
